using Npgsql;
using NpgsqlTypes;
using Shop.Orders;

namespace Platform.Benchmarks.Runtime;

/// <summary>
/// The orders every contender processes: each order is placed, confirmed, then shipped (every
/// fifth cancelled instead), three events per stream, stream id = the order id as a Guid string
/// (what the generated OrderSummary projection keys its row by).
/// </summary>
static class OrderWorkload
{
    public const int EventsPerOrder = 3;

    public const string StreamType = Order.AggregateTypeName;

    static readonly IReadOnlyList<OrderItem> Items =
    [
        new("sku-1", 2, 9.95m),
        new("sku-2", 1, 24.50m),
        new("sku-3", 3, 4.25m),
    ];

    /// <summary>Order ids of one run: fresh per run so no run finds the rows of another.</summary>
    public static Guid[] NewOrders(int count) => Enumerable.Range(0, count).Select(_ => Guid.CreateVersion7()).ToArray();

    /// <summary>The event at <paramref name="version"/> (1-based) of order number <paramref name="index"/>.</summary>
    public static object Event(int index, int version) => version switch
    {
        1 => new OrderPlaced($"customer-{index % 500}", Items, 56.15m, "1 Main Street", "EUR", "standard"),
        2 => new OrderConfirmed(),
        3 when index % 5 == 4 => new OrderCancelled("changed my mind"),
        3 => new OrderShipped($"TRK{index:D8}"),
        _ => throw new ArgumentOutOfRangeException(nameof(version)),
    };

    /// <summary>
    /// The order a rebuild's store holds the events in: for each block of 1,000 orders, every
    /// order's version 1, then every version 2, then every version 3, stored 100 streams per
    /// call. A stream's events are 1,000 positions apart, as they would be in a store written
    /// over time, so a replay batch rarely holds a row's earlier events.
    /// </summary>
    public static IEnumerable<(int[] Chunk, int Version)> ReplayOrder(int orders)
    {
        foreach (var block in Enumerable.Range(0, orders).Chunk(1_000))
            for (var version = 1; version <= EventsPerOrder; version++)
                foreach (var chunk in block.Chunk(100))
                    yield return (chunk, version);
    }

    /// <summary>
    /// Runs <paramref name="writers"/> writers over the orders: writer w takes the orders with
    /// index % writers == w in chunks of 50 and sends version 1 of each, then version 2, then 3, so
    /// a stream's next event follows shortly after its previous one (what per-aggregate ordering
    /// has to cope with) while other streams interleave.
    /// </summary>
    public static Task WriteAsync(Guid[] orders, int writers, Func<Guid, int, int, Task> send) =>
        Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var mine = Enumerable.Range(0, orders.Length).Where(i => i % writers == w).ToArray();
            foreach (var chunk in mine.Chunk(50))
            {
                for (var version = 1; version <= EventsPerOrder; version++)
                    foreach (var index in chunk)
                        await send(orders[index], index, version);
            }
        })));
}

/// <summary>
/// The read-model rows both the platform consumer and the bare baseline write: one row per
/// order, the same columns as the generated <c>order_summary</c>, one upsert per event.
/// </summary>
static class OrderRows
{
    public const string Table = "bench_order_rows";

    public const string CreateSql = $"""
        CREATE TABLE IF NOT EXISTS {Table} (
            order_id uuid PRIMARY KEY, customer_id text, status text NOT NULL, total_amount numeric,
            currency text, item_count int, tracking_number text, cancel_reason text,
            placed_at timestamptz, updated_at timestamptz NOT NULL, version bigint NOT NULL)
        """;

    const string UpsertSql = $"""
        INSERT INTO {Table} AS r (order_id, customer_id, status, total_amount, currency, item_count, tracking_number,
                                  cancel_reason, placed_at, updated_at, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (order_id) DO UPDATE SET
            customer_id = COALESCE(excluded.customer_id, r.customer_id), status = excluded.status,
            total_amount = COALESCE(excluded.total_amount, r.total_amount), currency = COALESCE(excluded.currency, r.currency),
            item_count = COALESCE(excluded.item_count, r.item_count),
            tracking_number = COALESCE(excluded.tracking_number, r.tracking_number),
            cancel_reason = COALESCE(excluded.cancel_reason, r.cancel_reason),
            placed_at = COALESCE(excluded.placed_at, r.placed_at), updated_at = excluded.updated_at, version = excluded.version
        """;

    public static async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid orderId, long version,
        object @event, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(UpsertSql, connection, transaction);
        var placed = @event as OrderPlaced;
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = orderId });
        command.Parameters.Add(Text(placed?.CustomerId));
        command.Parameters.Add(Text(@event switch
        {
            OrderPlaced => "Placed",
            OrderConfirmed => "Confirmed",
            OrderShipped => "Shipped",
            OrderCancelled => "Cancelled",
            _ => throw new InvalidOperationException($"not an order event: {@event.GetType()}"),
        }));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Numeric, Value = (object?)placed?.TotalAmount ?? DBNull.Value });
        command.Parameters.Add(Text(placed?.Currency));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)placed?.Items.Count ?? DBNull.Value });
        command.Parameters.Add(Text((@event as OrderShipped)?.TrackingNumber));
        command.Parameters.Add(Text((@event as OrderCancelled)?.Reason));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = placed is null ? DBNull.Value : at });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = at });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static NpgsqlParameter Text(string? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };
}
