using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Messaging;
using Platform.Persistence;
using Platform.Runtime;
using Platform.Runtime.Configuration;
using Platform.Runtime.Consumers;
using Shop.Orders;

namespace Platform.Benchmarks.Runtime;

/// <summary>The shape every end-to-end contender shares.</summary>
abstract class Contender : IAsyncDisposable
{
    protected Contender(string name, string admin, string database, Probe probe)
    {
        Probe = probe;
        Name = name;
        Admin = admin;
        Database = database;
    }

    public string Name { get; }

    protected string Admin { get; }

    public string Database { get; }

    public Probe Probe { get; }

    /// <summary>Runs <paramref name="orders"/> orders (three events each) through and times it.</summary>
    public abstract Task<(double Seconds, double P50, double P99)> RunAsync(int orders, int writers);

    public abstract ValueTask DisposeAsync();

    protected static IHost Build(Action<IServiceCollection> services) =>
        new HostBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services)
            .Build();

    protected static async Task StopAsync(IHost host, string admin, string database)
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await host.StopAsync(stop.Token);
        if (host is IAsyncDisposable asyncHost)
            await asyncHost.DisposeAsync();
        else
            host.Dispose();
        await Harness.DropDatabaseAsync(admin, database);
    }

    protected static TimeSpan Timeout(int events) => TimeSpan.FromSeconds(60 + events / 100.0);
}

/// <summary>
/// The platform path: direct appends to the event store (one event per append, exact expected
/// version), the outbox relay publishes, and an <see cref="IdempotentEventConsumer"/> (inbox row,
/// order guard, partitioned by stream) writes the row in its transaction.
/// </summary>
sealed class PlatformConsumerContender : Contender
{
    readonly IHost _host;
    readonly SqlEventStore _store;

    PlatformConsumerContender(string admin, string database, IHost host, Probe probe)
        : base("platform: append -> relay -> idempotent consumer", admin, database, probe)
    {
        _host = host;
        _store = host.Services.GetRequiredService<SqlEventStore>();
    }

    public static async Task<PlatformConsumerContender> StartAsync(string admin, string? rabbitMq, int prefetch)
    {
        var database = await Harness.CreateDatabaseAsync(admin, "bench_rt_consumer_" + (rabbitMq is null ? "mem" : "rmq"));
        await Harness.ExecuteAsync(database, OrderRows.CreateSql);
        var probe = new Probe();
        var host = Build(services =>
        {
            services.AddSingleton(probe);
            services.AddPlatform(cfg =>
            {
                cfg.UsePostgres(database);
                Harness.ConfigureAppends(cfg);
                if (rabbitMq is not null)
                    cfg.UseRabbitMq(new Uri(rabbitMq));
                cfg.Transport.QueuePrefix = "bench-" + Guid.NewGuid().ToString("N")[..8];
                cfg.Transport.AutoDeleteQueues = true;
                // The same prefetch as the baseline; partitions and group commit as configured by default.
                cfg.Transport.PrefetchCount = prefetch;
                // PLATFORM_BENCH_COMMIT_BATCH=1 measures the consumer with a transaction per event.
                if (int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_BENCH_COMMIT_BATCH"), out var commitBatch))
                    cfg.Transport.ConsumerCommitBatchSize = commitBatch;
                if (int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_BENCH_COMMITS"), out var commits))
                    cfg.Transport.ConsumerCommits = commits;
                if (int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_BENCH_PARTITIONS"), out var partitions))
                    cfg.Transport.Partitions = partitions;
                if (int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_BENCH_RELAY_POLL_MS"), out var pollMs))
                    cfg.Relay.PollInterval = TimeSpan.FromMilliseconds(pollMs);
                cfg.Projections.Enabled = false;
                // Only the consumer under test: the domain's saga would react to every OrderPlaced too.
                cfg.Sagas.Enabled = false;
                cfg.AddDomain(typeof(OrdersDomain));
                cfg.AddEventConsumer<PlatformOrderConsumer>();
            });
        });
        await host.StartAsync();
        return new PlatformConsumerContender(admin, database, host, probe);
    }

    public override async Task<(double, double, double)> RunAsync(int orders, int writers)
    {
        var events = orders * OrderWorkload.EventsPerOrder;
        Probe.Reset(events);
        var ids = OrderWorkload.NewOrders(orders);
        var clock = Stopwatch.StartNew();
        var writing = OrderWorkload.WriteAsync(ids, writers, async (id, index, version) =>
        {
            var data = EventData.Create(OrderWorkload.Event(index, version));
            Probe.Started(data.EventId);
            await _store.AppendAsync(id.ToString("D"), OrderWorkload.StreamType, ExpectedVersion.Exactly(version - 1), [data]);
        });
        await writing;
        var appended = clock.Elapsed;
        var visibleAtAppended = Probe.VisibleCount;
        await Harness.WithinAsync(Probe.Done, Timeout(events), () => $"{Probe.VisibleCount} of {events} rows");
        clock.Stop();
        Console.WriteLine($"    (appends done after {appended.TotalSeconds:F2} s, {visibleAtAppended:N0} rows visible then)");
        var (p50, p99) = Probe.Percentiles();
        return (clock.Elapsed.TotalSeconds, p50, p99);
    }

    public override ValueTask DisposeAsync() => new(StopAsync(_host, Admin, Database));
}

/// <summary>The platform's idempotent consumer of the order events: one upsert per event in the inbox transaction.</summary>
sealed class PlatformOrderConsumer(SqlEventStore store, Probe probe) : IdempotentEventConsumer(store),
    IConsumer<OrderPlaced>, IConsumer<OrderConfirmed>, IConsumer<OrderShipped>, IConsumer<OrderCancelled>
{
    public Task Consume(ConsumeContext<OrderPlaced> context) => WriteAsync(context);

    public Task Consume(ConsumeContext<OrderConfirmed> context) => WriteAsync(context);

    public Task Consume(ConsumeContext<OrderShipped> context) => WriteAsync(context);

    public Task Consume(ConsumeContext<OrderCancelled> context) => WriteAsync(context);

    async Task WriteAsync<T>(ConsumeContext<T> context) where T : class
    {
        var eventId = Guid.Empty;
        bool committed;
        try
        {
            committed = await ConsumeOnceAsync(context, (e, cancellationToken) =>
            {
                eventId = e.Event.EventId;
                return OrderRows.WriteAsync((NpgsqlConnection)e.Connection, (NpgsqlTransaction)e.Transaction,
                    Guid.Parse(e.Event.StreamId), e.Event.StreamVersion, e.Message, DateTimeOffset.UtcNow, cancellationToken);
            });
        }
        catch (OutOfOrderEventException)
        {
            probe.OutOfOrder();
            throw;
        }
        if (committed)
            probe.Visible(eventId);
    }
}

/// <summary>
/// The platform's projection engine: direct appends, the generated OrderSummary projection tails
/// the store and commits rows and checkpoint per batch (it reads no bus; the relay publishes to the
/// group's transport meanwhile, as in a deployed runtime). A
/// row is visible when the engine's commit reports it (the <c>platform.projections.applied</c>
/// counter, after commit); the k-th event of the run in global order is visible once the counter
/// has counted k events of the run.
/// </summary>
sealed class ProjectionContender : Contender
{
    readonly IHost _host;
    readonly SqlEventStore _store;
    readonly MeterListener _listener = new();
    readonly List<(long At, long Applied)> _commits = [];
    long _applied;
    long _target = long.MaxValue;
    TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    ProjectionContender(string admin, string database, IHost host)
        : base("platform: append -> projection engine (OrderSummary)", admin, database, new Probe())
    {
        _host = host;
        _store = host.Services.GetRequiredService<SqlEventStore>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PlatformTelemetry.Name && instrument.Name == "platform.projections.applied")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "projection" && (string?)tag.Value == OrderSummaryProjection.ProjectionName)
                {
                    lock (_commits)
                    {
                        _applied += value;
                        _commits.Add((Stopwatch.GetTimestamp(), _applied));
                        if (_applied >= _target)
                            _reached.TrySetResult();
                    }
                }
            }
        });
        _listener.Start();
    }

    // The runtime as deployed on the group's transport: the engine reads the store, not the bus,
    // but the relay still publishes every event to the bus (for reactions and sagas) and takes its
    // share of the CPU.
    public static async Task<ProjectionContender> StartAsync(string admin, string? rabbitMq)
    {
        var database = await Harness.CreateDatabaseAsync(admin, "bench_rt_projection_" + (rabbitMq is null ? "mem" : "rmq"));
        var host = Build(services => services.AddPlatform(cfg =>
        {
            cfg.UsePostgres(database);
            Harness.ConfigureAppends(cfg);
            if (rabbitMq is not null)
                cfg.UseRabbitMq(new Uri(rabbitMq));
            cfg.Transport.QueuePrefix = "bench-" + Guid.NewGuid().ToString("N")[..8];
            cfg.Transport.AutoDeleteQueues = true;
            cfg.Sagas.Enabled = false;
            cfg.AddDomain(typeof(OrdersDomain));
        }));
        await host.StartAsync();
        return new ProjectionContender(admin, database, host);
    }

    public override async Task<(double, double, double)> RunAsync(int orders, int writers)
    {
        var events = orders * OrderWorkload.EventsPerOrder;
        long before;
        lock (_commits)
        {
            _commits.Clear();
            before = _applied;
            _target = before + events;
            _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        var head = await _store.GetHeadPositionAsync();
        Probe.Reset(events);
        var ids = OrderWorkload.NewOrders(orders);
        var clock = Stopwatch.StartNew();
        await OrderWorkload.WriteAsync(ids, writers, async (id, index, version) =>
        {
            var data = EventData.Create(OrderWorkload.Event(index, version));
            Probe.Started(data.EventId);
            await _store.AppendAsync(id.ToString("D"), OrderWorkload.StreamType, ExpectedVersion.Exactly(version - 1), [data]);
        });
        await Harness.WithinAsync(_reached.Task, Timeout(events), () => $"{Interlocked.Read(ref _applied) - before} of {events} applied");
        clock.Stop();

        // The run's events in the order the engine applies them, matched with the commits that counted them.
        var order = new List<Guid>(events);
        await using (var connection = new NpgsqlConnection(Database))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT event_id FROM events WHERE global_position > $1 ORDER BY global_position", connection);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = head });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                order.Add(reader.GetGuid(0));
        }
        (long At, long Applied)[] commits;
        lock (_commits)
            commits = [.. _commits];
        var c = 0;
        for (var k = 0; k < order.Count; k++)
        {
            while (c < commits.Length && commits[c].Applied - before < k + 1)
                c++;
            if (c < commits.Length)
                Probe.Visible(order[k], commits[c].At);
        }
        var (p50, p99) = Probe.Percentiles();
        return (clock.Elapsed.TotalSeconds, p50, p99);
    }

    public override async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await StopAsync(_host, Admin, Database);
    }
}

/// <summary>
/// The baseline: a bare MassTransit consumer (no inbox, no ordering, no checkpoint) on the same
/// transport, with the same prefetch and concurrency, consuming the same events published
/// straight onto the bus (event id as message id, stream id and version as headers), writing the
/// same row with plain Npgsql in its own transaction. With <c>storeEvents</c>, each writer first
/// inserts the event into an events table like the store's (same columns and unique indexes, the
/// same generated serializer) and then publishes it: hand-written event sourcing with neither outbox
/// nor inbox, to show what the platform's guarantees cost beyond storing the events at all.
/// </summary>
sealed class BaselineContender : Contender
{
    // The store's events table without its stream-type, snapshot and archive machinery.
    const string CreateEventsSql = """
        CREATE TABLE bare_events (
            global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            stream_id text NOT NULL, stream_type text NOT NULL, stream_version bigint NOT NULL,
            event_id uuid NOT NULL UNIQUE, type_name text NOT NULL, schema_version int NOT NULL,
            data jsonb NOT NULL, metadata jsonb, "timestamp" timestamptz NOT NULL,
            UNIQUE (stream_id, stream_version))
        """;

    const string InsertEventSql = """
        INSERT INTO bare_events (stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, "timestamp")
        VALUES ($1, 'Order', $2, $3, $4, $5, $6::jsonb, $7)
        """;

    static readonly EventTypeRegistry Registry = new(new Platform.Runtime.Domains.DomainCatalog([typeof(OrdersDomain)]).EventTypes);

    readonly IHost _host;
    readonly IBus _bus;
    readonly NpgsqlDataSource? _events;

    BaselineContender(string admin, string database, IHost host, Probe probe, bool storeEvents)
        : base(storeEvents ? StoringName : "baseline: publish -> bare MassTransit consumer", admin, database, probe)
    {
        _host = host;
        _bus = host.Services.GetRequiredService<IBus>();
        _events = storeEvents ? host.Services.GetRequiredService<NpgsqlDataSource>() : null;
    }

    /// <summary>The name of the baseline that stores the events first.</summary>
    public const string StoringName = "baseline+events: insert event, publish -> bare MassTransit consumer";

    public static async Task<BaselineContender> StartAsync(string admin, string? rabbitMq, int prefetch, bool storeEvents = false)
    {
        var database = await Harness.CreateDatabaseAsync(admin, "bench_rt_bare_" + (storeEvents ? "ev_" : "") + (rabbitMq is null ? "mem" : "rmq"));
        await Harness.ExecuteAsync(database, OrderRows.CreateSql);
        if (storeEvents)
            await Harness.ExecuteAsync(database, CreateEventsSql);
        var probe = new Probe();
        var prefix = "bench-bare-" + Guid.NewGuid().ToString("N")[..8];
        var host = Build(services =>
        {
            services.AddSingleton(probe);
            // The event store's connection settings: statements prepared automatically and no
            // session reset when a connection goes back to the pool (Npgsql's reset is six
            // statements per checkout), so the baselines' row writes and inserts cost PostgreSQL no
            // more than the platform's identical ones.
            services.AddSingleton(_ => NpgsqlDataSource.Create(
                new NpgsqlConnectionStringBuilder(database) { MaxAutoPrepare = 32, NoResetOnClose = true }.ConnectionString));
            services.AddMassTransit(bus =>
            {
                bus.AddConsumer<BareOrderConsumer>();
                if (rabbitMq is not null)
                {
                    bus.UsingRabbitMq((context, rabbit) =>
                    {
                        rabbit.Host(new Uri(rabbitMq));
                        rabbit.MessageTopology.SetEntityNameFormatter(
                            new PrefixEntityNameFormatter(rabbit.MessageTopology.EntityNameFormatter, prefix + "."));
                        rabbit.ReceiveEndpoint(prefix + "-orders", endpoint =>
                        {
                            endpoint.AutoDelete = true;
                            endpoint.Durable = false;
                            endpoint.PrefetchCount = prefetch;
                            endpoint.ConcurrentMessageLimit = prefetch;
                            endpoint.ConfigureConsumer<BareOrderConsumer>(context);
                        });
                    });
                }
                else
                {
                    bus.UsingInMemory((context, memory) => memory.ReceiveEndpoint(prefix + "-orders", endpoint =>
                    {
                        endpoint.PrefetchCount = prefetch;
                        endpoint.ConcurrentMessageLimit = prefetch;
                        endpoint.ConfigureConsumer<BareOrderConsumer>(context);
                    }));
                }
            });
            services.AddOptions<MassTransitHostOptions>().Configure(options => options.WaitUntilStarted = true);
        });
        await host.StartAsync();
        return new BaselineContender(admin, database, host, probe, storeEvents);
    }

    public override async Task<(double, double, double)> RunAsync(int orders, int writers)
    {
        var events = orders * OrderWorkload.EventsPerOrder;
        Probe.Reset(events);
        var ids = OrderWorkload.NewOrders(orders);
        var clock = Stopwatch.StartNew();
        await OrderWorkload.WriteAsync(ids, writers, async (id, index, version) =>
        {
            var @event = OrderWorkload.Event(index, version);
            var eventId = Guid.CreateVersion7();
            Probe.Started(eventId);
            if (_events is not null)
                await InsertAsync(id, version, eventId, @event);
            await _bus.Publish(@event, @event.GetType(), Pipe.Execute<PublishContext>(context =>
            {
                context.MessageId = eventId;
                context.Headers.Set(PlatformHeaders.StreamId, id.ToString("D"));
                context.Headers.Set(PlatformHeaders.StreamVersion, version.ToString(CultureInfo.InvariantCulture));
            }));
        });
        await Harness.WithinAsync(Probe.Done, Timeout(events), () => $"{Probe.VisibleCount} of {events} rows");
        clock.Stop();
        var (p50, p99) = Probe.Percentiles();
        return (clock.Elapsed.TotalSeconds, p50, p99);
    }

    // One statement in its own (implicit) transaction: the unique (stream, version) index settles
    // races between writers, as in the store, but nothing ties the publish to the insert.
    async Task InsertAsync(Guid stream, int version, Guid eventId, object @event)
    {
        var descriptor = Registry.Get(@event.GetType());
        var json = new System.Buffers.ArrayBufferWriter<byte>(256);
        descriptor.Serialize(@event, json);
        await using var insert = _events!.CreateCommand(InsertEventSql);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.ToString("D") });
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = eventId });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = descriptor.TypeName });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = descriptor.SchemaVersion });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = System.Text.Encoding.UTF8.GetString(json.WrittenSpan) });
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = DateTimeOffset.UtcNow });
        await insert.ExecuteNonQueryAsync();
    }

    public override ValueTask DisposeAsync() => new(StopAsync(_host, Admin, Database));
}

/// <summary>The bare consumer: reads the stream id and version headers and upserts the row in its own transaction.</summary>
sealed class BareOrderConsumer(NpgsqlDataSource rows, Probe probe) :
    IConsumer<OrderPlaced>, IConsumer<OrderConfirmed>, IConsumer<OrderShipped>, IConsumer<OrderCancelled>
{
    public Task Consume(ConsumeContext<OrderPlaced> context) => WriteAsync(context);

    public Task Consume(ConsumeContext<OrderConfirmed> context) => WriteAsync(context);

    public Task Consume(ConsumeContext<OrderShipped> context) => WriteAsync(context);

    public Task Consume(ConsumeContext<OrderCancelled> context) => WriteAsync(context);

    async Task WriteAsync<T>(ConsumeContext<T> context) where T : class
    {
        var orderId = Guid.Parse(context.Headers.Get<string>(PlatformHeaders.StreamId)!);
        var version = long.Parse(context.Headers.Get<string>(PlatformHeaders.StreamVersion)!, CultureInfo.InvariantCulture);
        var cancellationToken = context.CancellationToken;
        await using (var connection = await rows.OpenConnectionAsync(cancellationToken))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await OrderRows.WriteAsync(connection, transaction, orderId, version, context.Message, DateTimeOffset.UtcNow, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        probe.Visible(context.MessageId!.Value);
    }
}
