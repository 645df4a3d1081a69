using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Testing;
using Shop.Orders;

namespace Platform.Runtime.Tests;

/// <summary>The transport a test runs on.</summary>
public enum Transport { InMemory, RabbitMq, Kafka }

/// <summary>
/// A started runtime (host with <c>AddPlatform</c>) on a fresh database and, for RabbitMQ, on
/// queues of its own (unique prefix, auto-delete), loading the generated Orders domain.
/// </summary>
sealed class RuntimeHost : IAsyncDisposable
{
    readonly IHost _host;
    readonly Func<Task> _dropDatabase;

    RuntimeHost(IHost host, PlatformOptions options, Func<Task> dropDatabase)
    {
        _host = host;
        Options = options;
        _dropDatabase = dropDatabase;
    }

    public IServiceProvider Services => _host.Services;

    public PlatformOptions Options { get; }

    public SqlEventStore EventStore => Services.GetRequiredService<SqlEventStore>();

    public IBus Bus => Services.GetRequiredService<IBus>();

    public static async Task<RuntimeHost> StartAsync(Store store, Transport transport,
        Action<IServiceCollection>? services = null, Action<PlatformOptions>? configure = null)
    {
        // Resolve the services first so a missing one skips (or fails under CI) before anything starts.
        var rabbit = transport == Transport.RabbitMq ? RealServices.RabbitMq : null;
        // Kafka: a mock cluster of the host's own, removed with it.
        var kafka = transport == Transport.Kafka ? KafkaBroker.StartCluster() : null;
        var database = await TestDatabase.CreateAsync(store, "runtime");
        return await StartAsync(database, rabbit, kafka?.BootstrapServers, services, configure, async () =>
        {
            await database.DisposeAsync();
            kafka?.Dispose();
        }, kafka is null ? null : options => KafkaBroker.CreateMessageTopics(kafka, options));
    }

    /// <summary>
    /// A runtime on a database the caller owns (several instances share it; disposing the host
    /// leaves it), on the shared RabbitMQ or on <paramref name="broker"/> (a dedicated node).
    /// </summary>
    public static Task<RuntimeHost> StartOnAsync(TestDatabase database, Transport transport, Uri? broker = null,
        Action<IServiceCollection>? services = null, Action<PlatformOptions>? configure = null)
    {
        if (transport == Transport.Kafka)
        {
            var bootstrap = KafkaBroker.BootstrapServersOf(broker ?? throw new ArgumentNullException(nameof(broker), "Kafka instances share a cluster: pass its address"));
            return StartAsync(database, null, bootstrap, services, configure, () => ValueTask.CompletedTask);
        }
        var rabbit = transport == Transport.RabbitMq ? broker ?? RealServices.RabbitMq : null;
        return StartAsync(database, rabbit, null, services, configure, () => ValueTask.CompletedTask);
    }

    static async Task<RuntimeHost> StartAsync(TestDatabase database, Uri? rabbit, string? kafka,
        Action<IServiceCollection>? services, Action<PlatformOptions>? configure, Func<ValueTask> dropDatabase,
        Action<PlatformOptions>? beforeStart = null)
    {
        PlatformOptions? options = null;
        var host = new HostBuilder().ConfigureServices(collection =>
        {
            services?.Invoke(collection);
            collection.AddPlatform(cfg =>
            {
                _ = database.Store == Store.Postgres ? cfg.UsePostgres(database.ConnectionString) : cfg.UseSqlite(database.ConnectionString);
                if (rabbit is not null)
                    cfg.UseRabbitMq(rabbit);
                cfg.Transport.QueuePrefix = "rt-" + Guid.NewGuid().ToString("N")[..12];
                cfg.Transport.AutoDeleteQueues = true;
                cfg.Transport.PrefetchCount = 16;
                cfg.Transport.Partitions = 4;
                if (kafka is not null)
                    KafkaBroker.Configure(cfg, kafka);
                cfg.AddDomain(typeof(OrdersDomain));
                // These tests run the Orders domain without its payment and inventory services, so
                // its saga could not send its first command; tests/Platform.Sagas.Tests runs sagas.
                cfg.Sagas.Enabled = false;
                configure?.Invoke(cfg);
                options = cfg;
            });
        }).Build();
        beforeStart?.Invoke(options!);
        try
        {
            // A bus that cannot start (say a queue it may not declare) would otherwise wait forever.
            using var starting = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host.StartAsync(starting.Token);
        }
        catch
        {
            host.Dispose();
            await dropDatabase();
            throw;
        }
        return new RuntimeHost(host, options!, async () => await dropDatabase());
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await _host.StopAsync(stop.Token);
        if (_host is IAsyncDisposable asyncHost)
            await asyncHost.DisposeAsync();
        else
            _host.Dispose();
        await _dropDatabase();
    }
}

/// <summary>
/// Kafka for the runtime tests: librdkafka's mock cluster (3 brokers) with the Orders topic
/// created, and the settings a runtime uses on it. The mock has no CreateTopics, so topics are
/// made here; the next-generation group protocol rebalances it fastest.
/// </summary>
static class KafkaBroker
{
    public const string OrderTopic = "events.order";

    public static KafkaMockCluster StartCluster()
    {
        var cluster = new KafkaMockCluster(brokers: 3);
        cluster.CreateTopic(OrderTopic, partitions: 4, replicationFactor: 3);
        return cluster;
    }

    /// <summary>
    /// The command and message topics the runtime's groups read, as a cluster with
    /// <c>CreateTopics</c> on would have them when the groups subscribe (a send to a queue, a
    /// dead letter's replay): a group does not see a topic created after it subscribed.
    /// </summary>
    public static void CreateMessageTopics(KafkaMockCluster cluster, PlatformOptions options)
    {
        foreach (var topic in Platform.Runtime.Kafka.KafkaTopology.MessageTopicsRead(options))
            cluster.CreateTopic(topic, partitions: 4, replicationFactor: 3);
    }

    public static void Configure(PlatformOptions cfg, string bootstrapServers)
    {
        cfg.UseKafka(bootstrapServers);
        cfg.Transport.Kafka.CreateTopics = false;
        cfg.Transport.Kafka.GroupProtocol = Confluent.Kafka.GroupProtocol.Consumer;
        cfg.Transport.Kafka.CommitInterval = TimeSpan.FromMilliseconds(200);
    }

    /// <summary>A cluster's bootstrap list as the <see cref="Uri"/> the broker-taking test helpers pass around.</summary>
    public static Uri AddressOf(KafkaMockCluster cluster) => new("kafka:" + Uri.EscapeDataString(cluster.BootstrapServers));

    public static string BootstrapServersOf(Uri address) =>
        address.Scheme == "kafka" ? Uri.UnescapeDataString(address.AbsolutePath) : throw new ArgumentException($"{address} is not a kafka: address", nameof(address));
}
