using System.Diagnostics;
using System.Text.RegularExpressions;
using Platform.Testing;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>A broker node that belongs to one test class, so that a test may stop and start it.</summary>
abstract class DedicatedBroker : IAsyncDisposable
{
    /// <summary>The address the runtime connects to.</summary>
    public abstract Uri Address { get; }

    /// <summary>Stops the node for real and starts it again with its data; returns when it accepts connections.</summary>
    public abstract Task RestartAsync();

    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// Brokers of this assembly's own, started on first use and removed when the tests of the
/// <see cref="Collection"/> are done. Tests that restart a broker must never touch the shared one,
/// which other test assemblies use at the same time; tests that leave durable queues behind use
/// them too, since removing the node removes the queues. The Kafka issue adds its node here.
/// </summary>
public sealed class DedicatedBrokers : IAsyncLifetime
{
    /// <summary>The test collection that shares the dedicated brokers (its classes run one after the other).</summary>
    public const string Collection = "dedicated brokers";

    readonly Dictionary<Transport, DedicatedBroker> _started = [];
    readonly List<DedicatedKafka> _kafka = [];

    internal async Task<DedicatedBroker> GetAsync(Transport transport)
    {
        // A mock cluster per call (they start in milliseconds): a test reading a cluster that an
        // earlier test wrote would consume that test's events too (a new group starts at the earliest offset).
        if (transport == Transport.Kafka)
        {
            var kafka = new DedicatedKafka();
            _kafka.Add(kafka);
            return kafka;
        }
        if (_started.TryGetValue(transport, out var broker))
            return broker;
        broker = transport switch
        {
            Transport.RabbitMq => await DedicatedRabbitMq.StartAsync(),
            _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, "this transport has no broker to restart"),
        };
        _started.Add(transport, broker);
        return broker;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var broker in _started.Values.Concat(_kafka))
            await broker.DisposeAsync();
    }
}

// Not beside the assembly's other test classes: these runs share their process's thread pool, and
// they restart brokers and run two runtimes at once. Next to other classes TwoInstanceTests once
// starved the pool for minutes (161 of 200 orders after 314 s in a CI-like run, and another class's
// PostgreSQL connection timing out in the same minute). The cause, found later in a stack dump, was
// MassTransit's request client blocking a thread per request until the bus's endpoint consumed
// (the runtime now sets the bus's AutoStart); running them alone keeps what is left of such contention
// away from the other classes' bounds, at the cost of about a minute of the run.
[CollectionDefinition(DedicatedBrokers.Collection, DisableParallelization = true)]
public sealed class DedicatedBrokerCollection : ICollectionFixture<DedicatedBrokers>;

/// <summary>
/// A RabbitMQ node of its own: <c>scripts/services.sh</c> with <c>PLATFORM_SERVICES=rabbitmq</c> and
/// a state directory in the temp folder, which gives a node on a free port; <c>restart</c> stops
/// the node and starts it on the same port with its mnesia data; <c>down</c> removes it.
/// </summary>
sealed partial class DedicatedRabbitMq : DedicatedBroker
{
    readonly string _state;

    DedicatedRabbitMq(string state, Uri address)
    {
        _state = state;
        Address = address;
    }

    public override Uri Address { get; }

    public static async Task<DedicatedRabbitMq> StartAsync()
    {
        // Without the shared services (PLATFORM_RABBITMQ) skip, or fail under CI, like every RabbitMQ test.
        _ = RealServices.RabbitMq;
        // A node that does not come up in time on a loaded machine (seen once under a parallel
        // full run: the Erlang VM's boot outlasted the script's 60 s wait) gets one more try.
        try
        {
            return await StartOnceAsync();
        }
        catch (InvalidOperationException first)
        {
            try
            {
                return await StartOnceAsync();
            }
            catch (InvalidOperationException second)
            {
                throw new AggregateException("a dedicated RabbitMQ node did not start twice", first, second);
            }
        }
    }

    static async Task<DedicatedRabbitMq> StartOnceAsync()
    {
        var state = Path.Combine(Path.GetTempPath(), "platform-rabbit-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            await RunAsync(state, "up");
            var env = await File.ReadAllTextAsync(Path.Combine(state, "env"));
            var uri = RabbitUri().Match(env);
            if (!uri.Success)
                throw new InvalidOperationException($"services.sh up wrote no PLATFORM_RABBITMQ to {state}/env: {env}");
            return new DedicatedRabbitMq(state, new Uri(uri.Groups[1].Value));
        }
        catch (InvalidOperationException exception)
        {
            var logs = Directory.Exists(Path.Combine(state, "rabbitmq", "log"))
                ? string.Join(" | ", Directory.GetFiles(Path.Combine(state, "rabbitmq", "log"))
                    .SelectMany(f => File.ReadLines(f).TakeLast(5)))
                : "no logs";
            await RunAsync(state, "down");
            Directory.Delete(state, recursive: true);
            throw new InvalidOperationException(exception.Message + " Last log lines: " + logs, exception);
        }
    }

    public override Task RestartAsync() => RunAsync(_state, "restart");

    public override async ValueTask DisposeAsync()
    {
        await RunAsync(_state, "down");
        Directory.Delete(_state, recursive: true);
    }

    static async Task RunAsync(string state, string command)
    {
        var start = new ProcessStartInfo("bash", [ServicesScript, command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PLATFORM_SERVICES_DIR"] = state;
        start.Environment["PLATFORM_SERVICES"] = "rabbitmq";
        // A port configured for the shared node would be taken: let the script pick a free one.
        start.Environment.Remove("PLATFORM_RABBIT_PORT");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/services.sh {command} (state {state}) did not finish in 150 s: {await stdout} {await stderr}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"scripts/services.sh {command} (state {state}) exited {process.ExitCode}: {await stdout} {await stderr}");
    }

    static string ServicesScript
    {
        get
        {
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            {
                var script = Path.Combine(folder.FullName, "scripts", "services.sh");
                if (File.Exists(Path.Combine(folder.FullName, "Platform.sln")) && File.Exists(script))
                    return script;
            }
            throw new InvalidOperationException($"no scripts/services.sh above {AppContext.BaseDirectory}");
        }
    }

    [GeneratedRegex("PLATFORM_RABBITMQ='([^']+)'")]
    private static partial Regex RabbitUri();
}

/// <summary>A Kafka mock cluster of the collection's own (it cannot be restarted; the mock has no persistence).</summary>
sealed class DedicatedKafka : DedicatedBroker
{
    readonly KafkaMockCluster _cluster = KafkaBroker.StartCluster();

    public override Uri Address => KafkaBroker.AddressOf(_cluster);

    public override Task RestartAsync() => throw new NotSupportedException("librdkafka's mock cluster keeps its data in memory; it is not restarted");

    public override ValueTask DisposeAsync()
    {
        _cluster.Dispose();
        return ValueTask.CompletedTask;
    }
}
