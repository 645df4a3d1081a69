using System.Diagnostics;
using Npgsql;

namespace Platform.Benchmarks.EventStore;

public sealed record Result(string Workload, string Database, string Contender, long Events, double Seconds, long PeakWorkingSetMb, double AllocatedBytesPerEvent)
{
    public double EventsPerSecond => Events / Seconds;
}

static class Harness
{
    public static readonly List<Result> Results = [];

    /// <summary>Runs one contender on one workload, sampling the working set for its peak.</summary>
    public static async Task<Result> MeasureAsync(string workload, string database, string contender, long events, Func<Task> run)
    {
        var (seconds, peak, allocated) = await TimeAsync(run);
        var result = new Result(workload, database, contender, events, seconds, peak / (1024 * 1024), (double)allocated / Math.Max(1, events));
        Results.Add(result);
        Print(result);
        return result;
    }

    /// <summary>
    /// Runs the contenders of one workload in interleaved rounds (A, B, C, then B, C, A, ...) and adds
    /// up each one's time, so that load from other processes on a shared machine falls on all of
    /// them alike instead of on whichever ran during a busy moment.
    /// </summary>
    public static async Task RoundsAsync(string workload, string database, int rounds, long eventsPerRound,
        IReadOnlyList<(string Contender, Func<int, Task> Round)> contenders)
    {
        var seconds = new double[contenders.Count];
        var peaks = new long[contenders.Count];
        var allocated = new long[contenders.Count];
        for (var round = 0; round < rounds; round++)
        {
            // Each round starts with the next contender: whoever runs first in a round ran about a
            // fifth slower (W1, the same store measured first and second), so a fixed order would
            // put that on one contender.
            for (var k = 0; k < contenders.Count; k++)
            {
                var c = (k + round) % contenders.Count;
                var (elapsed, peak, bytes) = await TimeAsync(() => contenders[c].Round(round));
                seconds[c] += elapsed;
                peaks[c] = Math.Max(peaks[c], peak);
                allocated[c] += bytes;
            }
        }
        for (var c = 0; c < contenders.Count; c++)
        {
            var events = eventsPerRound * rounds;
            var result = new Result(workload, database, contenders[c].Contender, events, seconds[c], peaks[c] / (1024 * 1024),
                (double)allocated[c] / events);
            Results.Add(result);
            Print(result);
        }
    }

    static async Task<(double Seconds, long PeakWorkingSet, long Allocated)> TimeAsync(Func<Task> run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long peak = Environment.WorkingSet;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, Environment.WorkingSet);
                try { await Task.Delay(10, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var watch = Stopwatch.StartNew();
        await run();
        watch.Stop();
        await stop.CancelAsync();
        await sampler;
        return (watch.Elapsed.TotalSeconds, peak, GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore);
    }

    static void Print(Result result) =>
        Console.WriteLine($"  {result.Workload,-4} {result.Database,-8} {result.Contender,-28} {result.Events,10:N0} ev {result.Seconds,8:F2} s {result.EventsPerSecond,12:N0} ev/s  peak {result.PeakWorkingSetMb,5} MB  {result.AllocatedBytesPerEvent,8:N0} B/ev");

    public static Task<string> CreateDatabaseAsync(string admin, string name) => Platform.Testing.PostgresDatabases.CreateAsync(admin, name);

    public static Task DropDatabaseAsync(string admin, string connectionString) => Platform.Testing.PostgresDatabases.DropAsync(admin, connectionString);

    /// <summary>Runs <paramref name="writers"/> tasks, each given its index.</summary>
    public static Task Parallel(int writers, Func<int, Task> writer) =>
        Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(() => writer(w))));
}
