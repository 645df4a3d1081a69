using System.Diagnostics;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;
using Platform.Runtime.Projections;
using Shop.Orders;

namespace Platform.Benchmarks.Runtime;

/// <summary>
/// Our rebuild: <see cref="ProjectionRebuilder"/> replays the store from position 0 through the
/// generated OrderSummary projection into a shadow table and swaps it in (what
/// <c>ProjectionEngine.RebuildAsync</c> and <c>platform projections rebuild</c> run).
/// </summary>
sealed class OurRebuild : IAsyncDisposable
{
    readonly SqlEventStore _store;
    readonly ProjectionBinding _projection;
    readonly string _database;

    OurRebuild(SqlEventStore store, ProjectionBinding projection, string database)
    {
        _store = store;
        _projection = projection;
        _database = database;
    }

    public static async Task<OurRebuild> CreateAsync(string database)
    {
        var catalog = new DomainCatalog([typeof(OrdersDomain)]);
        var store = new SqlEventStore(new EventStoreOptions().UsePostgres(database), new EventTypeRegistry(catalog.EventTypes));
        await store.MigrateAsync();
        var projection = catalog.Projections.Single(p => p.Name == OrderSummaryProjection.ProjectionName);
        return new OurRebuild(store, projection, database);
    }

    /// <summary>Stores the orders' events in the order <see cref="OrderWorkload.ReplayOrder"/> gives (untimed set-up).</summary>
    public async Task LoadAsync(int orders)
    {
        var ids = OrderWorkload.NewOrders(orders);
        foreach (var (chunk, version) in OrderWorkload.ReplayOrder(orders))
        {
            var appends = chunk.Select(i => new StreamAppend(ids[i].ToString("D"), OrderWorkload.StreamType, ExpectedVersion.Exactly(version - 1),
                [EventData.Create(OrderWorkload.Event(i, version))])).ToArray();
            await _store.AppendAsync(appends);
        }
    }

    public async Task<double> RebuildAsync(int expectedRows)
    {
        var rebuilder = new ProjectionRebuilder(_store, StoreProvider.Postgres);
        var clock = Stopwatch.StartNew();
        await rebuilder.RebuildAsync(_projection);
        clock.Stop();
        var rows = await Harness.ScalarAsync(_database, $"SELECT count(*) FROM {_projection.DefaultTableName}");
        if (rows != expectedRows)
            throw new InvalidOperationException($"our rebuild produced {rows} rows, expected {expectedRows}");
        return clock.Elapsed.TotalSeconds;
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();
}

/// <summary>The Marten document the single-stream projection builds: the same fields as OrderSummary.</summary>
public sealed class MartenOrderSummary
{
    public Guid Id { get; set; }
    public string CustomerId { get; set; } = "";
    public string Status { get; set; } = "";
    public decimal TotalAmount { get; set; }
    public string Currency { get; set; } = "";
    public int ItemCount { get; set; }
    public string? TrackingNumber { get; set; }
    public DateTimeOffset PlacedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? CancelReason { get; set; }
    public long LastAppliedPosition { get; set; }
}

/// <summary>Marten's idiomatic equivalent of the generated OrderSummary projection.</summary>
public sealed class MartenOrderSummaryProjection : SingleStreamProjection<MartenOrderSummary, Guid>
{
    public static MartenOrderSummary Create(IEvent<OrderPlaced> e) => new()
    {
        Id = e.StreamId,
        CustomerId = e.Data.CustomerId,
        Status = "Placed",
        TotalAmount = e.Data.TotalAmount,
        Currency = e.Data.Currency,
        ItemCount = e.Data.Items.Count,
        PlacedAt = e.Timestamp,
        UpdatedAt = e.Timestamp,
        LastAppliedPosition = e.Sequence,
    };

    public static void Apply(IEvent<OrderConfirmed> e, MartenOrderSummary row)
    {
        row.Status = "Confirmed";
        row.UpdatedAt = e.Timestamp;
        row.LastAppliedPosition = e.Sequence;
    }

    public static void Apply(IEvent<OrderShipped> e, MartenOrderSummary row)
    {
        row.Status = "Shipped";
        row.TrackingNumber = e.Data.TrackingNumber;
        row.UpdatedAt = e.Timestamp;
        row.LastAppliedPosition = e.Sequence;
    }

    public static void Apply(IEvent<OrderCancelled> e, MartenOrderSummary row)
    {
        row.Status = "Cancelled";
        row.CancelReason = e.Data.Reason;
        row.UpdatedAt = e.Timestamp;
        row.LastAppliedPosition = e.Sequence;
    }
}

/// <summary>Marten 9.58 on the same server: the same events, rebuilt by its async daemon.</summary>
sealed class MartenRebuild(string connectionString) : IAsyncDisposable
{
    readonly DocumentStore _store = DocumentStore.For(options =>
    {
        options.Connection(connectionString);
        options.Events.StreamIdentity = StreamIdentity.AsGuid;
        options.Events.AppendMode = EventAppendMode.Quick;
        options.AutoCreateSchemaObjects = AutoCreate.All;
        options.Events.AddEventType<OrderPlaced>();
        options.Events.AddEventType<OrderConfirmed>();
        options.Events.AddEventType<OrderShipped>();
        options.Events.AddEventType<OrderCancelled>();
        options.Projections.Add<MartenOrderSummaryProjection>(ProjectionLifecycle.Async);
    });

    public Task CreateSchemaAsync() => _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

    /// <summary>Stores the same events in the same order (untimed set-up).</summary>
    public async Task LoadAsync(int orders)
    {
        var ids = OrderWorkload.NewOrders(orders);
        foreach (var (chunk, version) in OrderWorkload.ReplayOrder(orders))
        {
            await using var session = _store.LightweightSession();
            foreach (var i in chunk)
            {
                if (version == 1)
                    session.Events.StartStream<MartenOrderSummary>(ids[i], OrderWorkload.Event(i, version));
                else
                    session.Events.Append(ids[i], OrderWorkload.Event(i, version));
            }
            await session.SaveChangesAsync();
        }
    }

    public async Task<double> RebuildAsync(int expectedRows)
    {
        var clock = Stopwatch.StartNew();
        using (var daemon = await _store.BuildProjectionDaemonAsync())
            await daemon.RebuildProjectionAsync<MartenOrderSummaryProjection>(TimeSpan.FromMinutes(30), CancellationToken.None);
        clock.Stop();
        await using var session = _store.QuerySession();
        var rows = await session.Query<MartenOrderSummary>().CountAsync();
        if (rows != expectedRows)
            throw new InvalidOperationException($"Marten's rebuild produced {rows} documents, expected {expectedRows}");
        return clock.Elapsed.TotalSeconds;
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();
}
