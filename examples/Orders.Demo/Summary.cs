using System.Data.Common;
using System.Globalization;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Runtime.Projections;
using Platform.Runtime.Sagas;

namespace Shop.Orders.Demo;

/// <summary>What the database says once the run has settled (and the cancellations the customers asked for).</summary>
sealed record Summary(
    IReadOnlyList<(string Status, long Count)> OrdersByStatus,
    long OrdersInKrw,
    IReadOnlyDictionary<string, long> SagasByState,
    IReadOnlyList<(string State, string Reason, long Count)> EndReasons,
    IReadOnlyList<ProjectionStatus> Projections,
    long EventsStored,
    long EventsAtV1,
    long DeadLetters,
    (int Asked, int Accepted, int Refused) Cancellations)
{
    /// <summary>The reason the generated saga records when the order's OrderCancelled made it compensate.</summary>
    public const string CancelledReason = "OrderCancelled";

    /// <summary>Sagas in a final state.</summary>
    public static long Ended(IReadOnlyDictionary<string, long> byState) =>
        byState.Where(s => s.Key is "Completed" or "Compensated" or "CompensationFailed").Sum(s => s.Value);

    public long SagasIn(string state) => SagasByState.TryGetValue(state, out var count) ? count : 0;

    /// <summary>Sagas that ended because the customer cancelled (compensated, or with a failed compensation).</summary>
    public long SagasCancelled => EndReasons.Where(r => r.Reason == CancelledReason).Sum(r => r.Count);

    public long OrdersIn(string status) => OrdersByStatus.Where(s => s.Status == status).Sum(s => s.Count);

    public static async Task<Summary> ReadAsync(DemoDatabase database, SagaOperations sagas, ProjectionEngine engine, IEventStore events, Cancellations cancellations)
    {
        await using var connection = await database.OpenAsync();
        // The saga's data is the generated state as JSON; failureReason says why it compensated.
        var failureReason = database.Provider == StoreProvider.Postgres ? "(data::json ->> 'failureReason')" : "json_extract(data, '$.failureReason')";
        return new Summary(
            (await RowsAsync(connection, "SELECT status, count(*) FROM order_summary GROUP BY status ORDER BY status")).Select(r => (r[0], long.Parse(r[1], CultureInfo.InvariantCulture))).ToList(),
            await ScalarAsync(connection, "SELECT count(*) FROM order_summary WHERE currency = 'KRW'"),
            await sagas.CountByStateAsync(),
            (await RowsAsync(connection, $"SELECT current_state, {failureReason}, count(*) FROM saga_instances " +
                                         "WHERE current_state <> 'Completed' GROUP BY current_state, 2 ORDER BY 1, 3 DESC"))
                .Select(r => (r[0], r[1], long.Parse(r[2], CultureInfo.InvariantCulture))).ToList(),
            await engine.GetStatusAsync(),
            await events.GetHeadPositionAsync(),
            await ScalarAsync(connection, $"SELECT count(*) FROM events WHERE type_name = '{OrderPlaced.EventTypeName}' AND schema_version = 1"),
            await ScalarAsync(connection, "SELECT count(*) FROM message_dead_letters"),
            (cancellations.Asked, cancellations.Accepted, cancellations.Refused));
    }

    public void Print(TextWriter output, int orders, int legacyOrders, double seconds, ServiceLedger ledger, WarningCounter logs, DemoOptions options)
    {
        output.WriteLine();
        output.WriteLine("Orders by status (read model OrderSummary):");
        foreach (var (status, count) in OrdersByStatus)
            output.WriteLine($"  {status,-28} {count,7:N0}");
        output.WriteLine($"  {"in KRW",-28} {OrdersInKrw,7:N0}  (including the {legacyOrders:N0} v1 orders, which got KRW from the upcaster)");
        output.WriteLine($"Cancellations: {Cancellations.Asked:N0} customers cancelled, {Cancellations.Accepted:N0} accepted, " +
                         $"{Cancellations.Refused:N0} refused (the order had shipped)");

        output.WriteLine("Sagas by state (OrderFulfilment, saga_instances), with the reason a saga did not complete:");
        foreach (var (state, count) in SagasByState.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {state,-28} {count,7:N0}");
            foreach (var (_, reason, reasonCount) in EndReasons.Where(r => r.State == state))
                output.WriteLine($"    {reason + (reason == CancelledReason ? " (customer)" : ""),-26} {reasonCount,7:N0}");
        }
        output.WriteLine($"  completed {SagasIn("Completed"):N0}, compensated {SagasIn("Compensated"):N0} " +
                         $"(cancelled by the customer {SagasCancelled:N0}), compensation failed {SagasIn("CompensationFailed"):N0}");

        output.WriteLine("Projections (ProjectionEngine):");
        foreach (var projection in Projections)
            output.WriteLine($"  {projection.Name,-28} position {projection.Position:N0} of {projection.Head:N0}, lag {projection.LagPositions:N0}, {projection.State}");

        output.WriteLine($"Events stored: {EventsStored:N0} (store head), {EventsAtV1:N0} at OrderPlaced v1 read upcast to v2");
        output.WriteLine($"Services: {ledger.Charges:N0} charges, {ledger.Declines:N0} declined, {ledger.Refunds:N0} refunds ({ledger.RefundFailures:N0} failed), " +
                         $"{ledger.Reservations:N0} reservations, {ledger.OutOfStock:N0} out of stock, {ledger.Releases:N0} releases, " +
                         $"{ledger.Shipments:N0} shipments, {ledger.Duplicates:N0} duplicate commands");
        output.WriteLine($"Dead letters: {DeadLetters:N0}; warnings and errors logged: {logs.Count:N0}{(logs.First is null ? "" : ", the first: " + logs.First.ReplaceLineEndings(" "))}");
        output.WriteLine($"Time: {seconds:N1} s for {orders:N0} orders: {EventsStored / seconds:N0} events/s, {Ended(SagasByState) / seconds:N0} sagas/s " +
                         $"({options.Describe()}, one process)");
    }

    static async Task<List<string[]>> RowsAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var rows = new List<string[]>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var row = new string[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? "(none)" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)!;
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// Orders whose fulfilment saga completed but which are neither Shipped nor Cancelled in the read
    /// model yet: the reaction's ShipOrder (sent through the saga outbox) has still to land.
    /// </summary>
    public static async Task<long> CompletedButNotShippedAsync(DemoDatabase database)
    {
        await using var connection = await database.OpenAsync();
        return await ScalarAsync(connection,
            "SELECT count(*) FROM saga_instances s JOIN order_summary o ON CAST(o.order_id AS TEXT) = s.correlation_id " +
            "WHERE s.saga_name = 'OrderFulfilment' AND s.current_state = 'Completed' AND o.status NOT IN ('Shipped', 'Cancelled')");
    }

    static async Task<long> ScalarAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
