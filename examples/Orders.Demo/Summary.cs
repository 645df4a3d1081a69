using System.Globalization;
using Microsoft.Data.Sqlite;
using Platform.Persistence;
using Platform.Runtime.Projections;
using Platform.Runtime.Sagas;

namespace Shop.Orders.Demo;

/// <summary>What the database says once the run has settled.</summary>
sealed record Summary(
    IReadOnlyList<(string Status, long Count)> OrdersByStatus,
    long OrdersInKrw,
    IReadOnlyDictionary<string, long> SagasByState,
    IReadOnlyList<(string Reason, long Count)> CompensationReasons,
    IReadOnlyList<ProjectionStatus> Projections,
    long EventsStored,
    long EventsAtV1,
    long DeadLetters)
{
    public static async Task<Summary> ReadAsync(string connectionString, SagaOperations sagas, ProjectionEngine engine, IEventStore events)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        return new Summary(
            await RowsAsync(connection, "SELECT status, count(*) FROM order_summary GROUP BY status ORDER BY status"),
            await ScalarAsync(connection, "SELECT count(*) FROM order_summary WHERE currency = 'KRW'"),
            await sagas.CountByStateAsync(),
            // The saga's data is the generated state as JSON; failureReason says why it compensated.
            await RowsAsync(connection, "SELECT json_extract(data, '$.failureReason'), count(*) FROM saga_instances " +
                                        "WHERE current_state <> 'Completed' GROUP BY 1 ORDER BY 2 DESC"),
            await engine.GetStatusAsync(),
            await events.GetHeadPositionAsync(),
            await ScalarAsync(connection, $"SELECT count(*) FROM events WHERE type_name = '{OrderPlaced.EventTypeName}' AND schema_version = 1"),
            await ScalarAsync(connection, "SELECT count(*) FROM message_dead_letters"));
    }

    public void Print(int orders, int legacyOrders, double seconds, ServiceLedger ledger, int warnings)
    {
        Console.WriteLine();
        Console.WriteLine("Orders by status (read model OrderSummary):");
        foreach (var (status, count) in OrdersByStatus)
            Console.WriteLine($"  {status,-22} {count,7:N0}");
        Console.WriteLine($"  {"in KRW",-22} {OrdersInKrw,7:N0}  (including the {legacyOrders:N0} v1 orders, which got KRW from the upcaster)");

        Console.WriteLine("Sagas by state (OrderFulfilment, saga_instances):");
        foreach (var (state, count) in SagasByState.OrderBy(s => s.Key, StringComparer.Ordinal))
            Console.WriteLine($"  {state,-22} {count,7:N0}");
        foreach (var (reason, count) in CompensationReasons) // the saga's failureReason
            Console.WriteLine($"    {reason,-20} {count,7:N0}");

        Console.WriteLine("Projections (ProjectionEngine):");
        foreach (var projection in Projections)
            Console.WriteLine($"  {projection.Name,-22} position {projection.Position:N0} of {projection.Head:N0}, lag {projection.LagPositions:N0}, {projection.State}");

        Console.WriteLine($"Events stored: {EventsStored:N0} (store head), {EventsAtV1:N0} at OrderPlaced v1 read upcast to v2");
        Console.WriteLine($"Services: {ledger.Charges:N0} charges, {ledger.Declines:N0} declined, {ledger.Refunds:N0} refunds ({ledger.RefundFailures:N0} failed), " +
                          $"{ledger.Reservations:N0} reservations, {ledger.OutOfStock:N0} out of stock, {ledger.Releases:N0} releases, " +
                          $"{ledger.Shipments:N0} shipments, {ledger.Duplicates:N0} duplicate commands");
        Console.WriteLine($"Dead letters: {DeadLetters:N0}; warnings and errors logged: {warnings:N0}");
        var ended = SagasByState.Where(s => s.Key is "Completed" or "Compensated" or "CompensationFailed").Sum(s => s.Value);
        Console.WriteLine($"Time: {seconds:N1} s for {orders:N0} orders: {EventsStored / seconds:N0} events/s, {ended / seconds:N0} sagas/s " +
                          "(SQLite, in-memory transport, one process)");
    }

    static async Task<List<(string, long)>> RowsAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var rows = new List<(string, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add((reader.IsDBNull(0) ? "(none)" : reader.GetString(0), reader.GetInt64(1)));
        return rows;
    }

    static async Task<long> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
