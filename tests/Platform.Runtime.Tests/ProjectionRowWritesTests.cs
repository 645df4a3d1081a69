using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Projections;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;
using Platform.Runtime.Projections;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// How a projection batch finds and writes its rows (RowPrefetch, IKnownAbsentRows, and on
/// PostgreSQL RowUpserts' one statement per kind of change): the same rows as EF Core's own
/// lookups and SaveChanges, and as the events say, with rows created, changed and deleted in one
/// batch or across batches, nullable columns set and cleared.
/// </summary>
public sealed class ProjectionRowWritesTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite, 1_000)]
    [InlineData(Store.Sqlite, 7)]
    [InlineData(Store.Postgres, 1_000)]
    [InlineData(Store.Postgres, 7)]
    public async Task a_batch_writes_the_rows_the_events_say_as_ef_core_would(Store store, int batchSize)
    {
        await using var target = await Target.CreateAsync(store);
        var events = target.Events;

        // 40 orders in rounds of 10: each round places its orders, then confirms, ships (and
        // re-ships with another tracking number), cancels (the row is deleted) or leaves them, so
        // one batch of 1,000 holds a row's creation, changes and deletion, and batches of 7 split them.
        var expected = new Dictionary<Guid, (FlagsRow? Row, int Version)>();
        long position = 0;
        for (var round = 0; round < 4; round++)
        {
            var ids = Enumerable.Range(0, 10).Select(_ => Guid.NewGuid()).ToArray();
            for (var version = 1; version <= 4; version++)
            {
                for (var i = 0; i < ids.Length; i++)
                {
                    var index = round * 10 + i;
                    object? change = (version, index % 4) switch
                    {
                        (1, _) => new OrderPlaced("customer-" + index, [new OrderItem("sku", index % 3, 1.5m)], 10.25m + index, "street", "EUR", "standard"),
                        (2, not 3) => new OrderConfirmed(),
                        (3, 0) => new OrderShipped("TRK-" + index),
                        (3, 1) => new OrderCancelled("changed"),
                        (4, 0) => new OrderShipped("TRK2-" + index),
                        _ => null,
                    };
                    if (change is null)
                        continue;
                    expected.TryGetValue(ids[i], out var state);
                    await events.AppendAsync(ids[i].ToString("D"), Order.AggregateTypeName, ExpectedVersion.Exactly(state.Version), [EventData.Create(change)]);
                    position = await events.GetHeadPositionAsync();
                    expected[ids[i]] = (Apply(state.Row, ids[i], change, position), state.Version + 1);
                }
            }
        }
        var wanted = expected.Values.Select(s => s.Row).OfType<FlagsRow>().OrderBy(r => r.OrderId).ToArray();
        Assert.Equal(30, wanted.Length); // a quarter of the orders was cancelled and their rows deleted

        foreach (var efCore in new[] { false, true })
            Assert.Equal(wanted, await target.ProjectAsync(batchSize, efCore, position));
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_batch_of_thousands_of_rows_is_written_whole(Store store)
    {
        await using var target = await Target.CreateAsync(store);
        var events = target.Events;
        // 1,300 orders placed, then 700 of them confirmed and 100 of those cancelled (deleted), all
        // in one batch: arrays of 1,300 values on PostgreSQL.
        var ids = Enumerable.Range(0, 1_300).Select(_ => Guid.NewGuid()).ToArray();
        await events.AppendAsync(ids.Select((id, i) => new StreamAppend(id.ToString("D"), Order.AggregateTypeName, ExpectedVersion.Exactly(0),
            [EventData.Create(new OrderPlaced("c", [new OrderItem("sku", 1, 2m)], i, "street", "EUR", "standard"))])).ToArray());
        await events.AppendAsync(ids.Take(700).Select(id => new StreamAppend(id.ToString("D"), Order.AggregateTypeName, ExpectedVersion.Exactly(1),
            [EventData.Create(new OrderConfirmed())])).ToArray());
        await events.AppendAsync(ids.Take(100).Select(id => new StreamAppend(id.ToString("D"), Order.AggregateTypeName, ExpectedVersion.Exactly(2),
            [EventData.Create(new OrderCancelled("no"))])).ToArray());

        var head = await events.GetHeadPositionAsync();
        var results = new List<FlagsRow[]>();
        foreach (var efCore in new[] { false, true })
            results.Add(await target.ProjectAsync(5_000, efCore, head));
        Assert.Equal(1_200, results[0].Length);
        Assert.Equal(600, results[0].Count(r => r.Status == "Confirmed"));
        Assert.Equal(Enumerable.Range(0, 1_300).Select(i => (decimal?)i).Except(Enumerable.Range(0, 100).Select(i => (decimal?)i)).Order(),
            results[0].Select(r => r.Total).Order());
        Assert.Equal(results[1], results[0]);
    }

    // What the projection should make of an event, worked out here independently of it.
    static FlagsRow? Apply(FlagsRow? row, Guid id, object change, long position) => change switch
    {
        OrderPlaced placed => new FlagsRow(id, "Placed", placed.TotalAmount, placed.Items.Sum(i => i.Quantity) is var n && n > 0 ? n : null,
            null, false, null, position),
        OrderConfirmed => row! with { Status = "Confirmed", LastAppliedPosition = position },
        OrderShipped shipped => row! with { Status = "Shipped", Tracking = shipped.TrackingNumber, HasShippedAt = true, Shipped = true, Total = null, LastAppliedPosition = position },
        OrderCancelled => null,
        _ => throw new ArgumentOutOfRangeException(nameof(change)),
    };

    /// <summary>A fresh database with the event store on it, and the OrderFlags projection to run over it.</summary>
    sealed class Target : IAsyncDisposable
    {
        readonly TestDatabase _database;
        readonly StoreProvider _provider;
        readonly ProjectionBinding _binding = ProjectionBinding.Create(typeof(OrderFlagsProjection), null);

        Target(TestDatabase database, StoreProvider provider, SqlEventStore events)
        {
            _database = database;
            _provider = provider;
            Events = events;
        }

        public SqlEventStore Events { get; }

        public static async Task<Target> CreateAsync(Store store)
        {
            var database = await TestDatabase.CreateAsync(store, "rowwrites");
            var options = new EventStoreOptions();
            _ = store == Store.Postgres ? options.UsePostgres(database.ConnectionString) : options.UseSqlite(database.ConnectionString);
            var events = new SqlEventStore(options, new EventTypeRegistry(new DomainCatalog([typeof(OrdersDomain)]).EventTypes));
            await events.MigrateAsync();
            return new Target(database, store == Store.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite, events);
        }

        /// <summary>
        /// Replays the store into a table of its own, saving rows as the runtime does or with EF
        /// Core's SaveChanges, and returns the rows; checks the checkpoint and that every batch's
        /// rows were loaded with one query (on SQLite the prefetch once failed on every batch,
        /// unable to copy a SqliteParameter, and went row by row unnoticed).
        /// </summary>
        public async Task<FlagsRow[]> ProjectAsync(int batchSize, bool efCore, long head)
        {
            var table = efCore ? "order_flags_ef" : "order_flags";
            var runner = new ProjectionRunner(Events, _provider, _binding, batchSize, table, "test:" + table) { SaveWithEfCore = efCore };
            await runner.EnsureTableAsync();
            await runner.CatchUpAsync();
            Assert.Equal(head, await Events.GetCheckpointAsync("test:" + table));
            Assert.Equal(0, runner.BatchesNotPrefetched);

            await using var transaction = await Events.BeginTransactionAsync();
            await using var db = ProjectionDbContext.Create(_provider, transaction.Connection, _binding, table);
            await db.Database.UseTransactionAsync(transaction.Transaction);
            var rows = await db.Set<OrderFlags>().AsNoTracking().ToListAsync();
            return rows.Select(r => new FlagsRow(r.OrderId, r.Status, r.Total, r.Items, r.Tracking, r.ShippedAt is not null, r.Shipped, r.LastAppliedPosition))
                .OrderBy(r => r.OrderId)
                .ToArray();
        }

        public async ValueTask DisposeAsync()
        {
            await Events.DisposeAsync();
            await _database.DisposeAsync();
        }
    }

    internal sealed record FlagsRow(Guid OrderId, string Status, decimal? Total, int? Items, string? Tracking, bool HasShippedAt, bool? Shipped,
        long LastAppliedPosition);
}

/// <summary>A read-model row with nullable columns of several kinds, written as the generated ones are.</summary>
public sealed class OrderFlags
{
    public Guid OrderId { get; set; }
    public string Status { get; set; } = "";
    public decimal? Total { get; set; }
    public int? Items { get; set; }
    public string? Tracking { get; set; }
    public DateTimeOffset? ShippedAt { get; set; }
    public bool? Shipped { get; set; }
    public long LastAppliedPosition { get; set; }
}

/// <summary>Its table, configured as a generated configuration is (a TableName for shadow tables).</summary>
public sealed class OrderFlagsConfiguration : IEntityTypeConfiguration<OrderFlags>
{
    public string TableName { get; init; } = "order_flags";

    public void Configure(EntityTypeBuilder<OrderFlags> builder)
    {
        builder.ToTable(TableName);
        builder.HasKey(x => x.OrderId);
        builder.Property(x => x.OrderId).HasColumnName("order_id").ValueGeneratedNever();
        builder.Property(x => x.Total).HasColumnName("total").HasPrecision(18, 4);
        builder.Property(x => x.ShippedAt).HasColumnName("shipped_at");
        builder.Property(x => x.LastAppliedPosition).HasColumnName("last_applied_position");
    }
}

/// <summary>
/// A hand-written projection shaped like the generated ones (ProjectionName, EventTypes, ApplyAsync
/// asking IKnownAbsentRows before FindAsync) that also deletes rows, which no example projection does.
/// </summary>
public sealed class OrderFlagsProjection
{
    public const string ProjectionName = "OrderFlags";

    public static IReadOnlyList<string> EventTypes { get; } =
        [OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName, OrderShipped.EventTypeName, OrderCancelled.EventTypeName];

    public async ValueTask<bool> ApplyAsync(DbContext db, EventEnvelope envelope, CancellationToken cancellationToken = default)
    {
        var rows = db.Set<OrderFlags>();
        var known = db as IKnownAbsentRows;
        var key = Guid.Parse(envelope.StreamId);
        var row = known is not null && known.IsKnownAbsent(key) ? null : await rows.FindAsync([key], cancellationToken);
        if (row is not null && row.LastAppliedPosition >= envelope.GlobalPosition)
            return false;
        switch (envelope.Event)
        {
            case OrderPlaced placed:
                if (row is null)
                {
                    row = new OrderFlags { OrderId = key };
                    rows.Add(row);
                }
                row.Status = "Placed";
                row.Total = placed.TotalAmount;
                row.Items = placed.Items.Sum(i => i.Quantity) is var n && n > 0 ? n : null;
                break;
            case OrderConfirmed when row is not null:
                row.Status = "Confirmed";
                break;
            case OrderShipped shipped when row is not null:
                row.Status = "Shipped";
                row.Tracking = shipped.TrackingNumber;
                row.ShippedAt = envelope.Timestamp;
                row.Shipped = true;
                row.Total = null; // a value cleared
                break;
            case OrderCancelled when row is not null:
                rows.Remove(row);
                return true;
            default:
                return false;
        }
        row.LastAppliedPosition = envelope.GlobalPosition;
        return true;
    }
}
