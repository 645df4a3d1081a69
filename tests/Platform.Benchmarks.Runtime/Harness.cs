using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Platform.Benchmarks.Runtime;

/// <summary>One timed run of one contender.</summary>
public sealed record Run(string Group, string Contender, int Events, double Seconds, double P50Ms, double P99Ms)
{
    public double EventsPerSecond => Events / Seconds;

    /// <summary>CPU spent per event in this process and in the contender's PostgreSQL backends, in µs (NaN where not measured).</summary>
    public (double Runtime, double Postgres) CpuPerEvent { get; init; } = (double.NaN, double.NaN);

    /// <summary>Time the JIT spent compiling during the run (any thread of the process).</summary>
    public TimeSpan Jit { get; init; }

    /// <summary>Methods the JIT compiled during the run (new ones, and hot ones again at a higher tier).</summary>
    public long Jitted { get; init; }

    /// <summary>Bytes the process allocated per event during the run (every thread; NaN where not measured).</summary>
    public double AllocatedPerEvent { get; init; } = double.NaN;
}

/// <summary>
/// CPU time of this process and of the PostgreSQL backends connected to one database (Linux
/// /proc; a backend's command line names its database), so a run can say where its cost went.
/// </summary>
public static class Cpu
{
    static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public static (TimeSpan Runtime, TimeSpan Postgres) Sample(string connectionString)
    {
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database;
        var postgres = TimeSpan.Zero;
        if (database is not null && Directory.Exists("/proc"))
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(directory), out _))
                    continue;
                try
                {
                    var command = File.ReadAllText(Path.Combine(directory, "cmdline"));
                    if (!command.StartsWith("postgres: ", StringComparison.Ordinal) || !command.Contains(" " + database + " ", StringComparison.Ordinal))
                        continue;
                    var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name
                    var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                    postgres += TimeSpan.FromSeconds(ticks / TicksPerSecond);
                }
                catch (IOException)
                {
                    // the backend exited meanwhile
                }
            }
        }
        return (Process.GetCurrentProcess().TotalProcessorTime, postgres);
    }
}

/// <summary>
/// Where a run's clock starts and stops: the writer calls <see cref="Started"/> just before it
/// appends (or, for the baseline, publishes) an event, and whatever makes the row visible calls
/// <see cref="Visible"/> once its transaction has committed.
/// </summary>
public sealed class Probe
{
    ConcurrentDictionary<Guid, long> _starts = new();
    long[] _latencies = [];
    int _visible;
    int _expected;
    TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts a run of <paramref name="expected"/> events; events of earlier runs are ignored from now on.</summary>
    public void Reset(int expected)
    {
        _starts = new ConcurrentDictionary<Guid, long>();
        _latencies = new long[expected];
        _visible = 0;
        _outOfOrder = 0;
        _expected = expected;
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public Task Done => _done.Task;

    /// <summary>Deliveries the platform consumer's order guard sent back to wait for a predecessor.</summary>
    public int OutOfOrderCount => Volatile.Read(ref _outOfOrder);

    int _outOfOrder;

    public void OutOfOrder() => Interlocked.Increment(ref _outOfOrder);

    public int VisibleCount => Volatile.Read(ref _visible);

    public void Started(Guid eventId) => _starts[eventId] = Stopwatch.GetTimestamp();

    public void Visible(Guid eventId) => Visible(eventId, Stopwatch.GetTimestamp());

    public void Visible(Guid eventId, long at)
    {
        if (!_starts.TryRemove(eventId, out var start))
            return; // a warm-up event, or one of an earlier run
        var slot = Interlocked.Increment(ref _visible) - 1;
        if (slot < _latencies.Length)
            _latencies[slot] = at - start;
        if (slot + 1 == _expected)
            _done.TrySetResult();
    }

    /// <summary>p50 and p99 of the latencies seen, in ms.</summary>
    public (double P50, double P99) Percentiles()
    {
        var count = Math.Min(VisibleCount, _latencies.Length);
        var sorted = _latencies.AsSpan(0, count).ToArray();
        Array.Sort(sorted);
        double At(double q) => count == 0 ? double.NaN
            : sorted[Math.Min(count - 1, (int)Math.Ceiling(q * count) - 1)] * 1000.0 / Stopwatch.Frequency;
        return (At(0.50), At(0.99));
    }
}

static class Harness
{
    public static readonly List<Run> Runs = [];

    /// <summary>PLATFORM_BENCH_CONCURRENT_APPENDS sets the platform's Store:ConcurrentAppends (0: every append alone).</summary>
    public static void ConfigureAppends(Platform.Runtime.Configuration.PlatformOptions options)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_BENCH_CONCURRENT_APPENDS"), CultureInfo.InvariantCulture, out var appends))
            options.Store.ConcurrentAppends = appends;
    }

    public static void Record(Run run)
    {
        Runs.Add(run);
        var cpu = double.IsNaN(run.CpuPerEvent.Runtime) ? ""
            : string.Create(CultureInfo.InvariantCulture, $"  CPU/event: runtime {run.CpuPerEvent.Runtime,4:F0} µs, PostgreSQL {run.CpuPerEvent.Postgres,4:F0} µs; JIT {run.Jit.TotalMilliseconds,5:F0} ms, {run.Jitted,5:N0} methods; {run.AllocatedPerEvent / 1024,5:F1} KB allocated/event");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {run.Group,-22} {run.Contender,-40} {run.Events,8:N0} ev {run.Seconds,7:F2} s {run.EventsPerSecond,9:N0} ev/s  p50 {run.P50Ms,8:F1} ms  p99 {run.P99Ms,8:F1} ms{cpu}"));
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>"median (min-max)" in the given format.</summary>
    public static string MedianRange(IReadOnlyCollection<double> values, string format) =>
        values.Count == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
            $"{Median(values).ToString(format, CultureInfo.InvariantCulture)} ({values.Min().ToString(format, CultureInfo.InvariantCulture)}-{values.Max().ToString(format, CultureInfo.InvariantCulture)})");

    public static Task<string> CreateDatabaseAsync(string admin, string name) => Platform.Testing.PostgresDatabases.CreateAsync(admin, name);

    public static Task DropDatabaseAsync(string admin, string connectionString) => Platform.Testing.PostgresDatabases.DropAsync(admin, connectionString);

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Waits for <paramref name="task"/>, failing with what was seen after <paramref name="timeout"/>.</summary>
    public static async Task WithinAsync(Task task, TimeSpan timeout, Func<string> state)
    {
        if (await Task.WhenAny(task, Task.Delay(timeout)) != task)
            throw new TimeoutException($"not done after {timeout.TotalSeconds:0} s: {state()}");
        await task;
    }
}
