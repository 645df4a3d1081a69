using Microsoft.EntityFrameworkCore;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;
using Platform.Runtime.Projections;
using Shop.Orders;

namespace Platform.Runtime.Tests;

/// <summary>Commands of the generated Orders domain and reads of what they produced.</summary>
static class Orders
{
    public static PlaceOrder Place(Guid id, int n) => new(id, "customer-" + (n % 7),
        [new OrderItem("sku-" + n, 1 + n % 3, 9.5m + n), new OrderItem("sku-x", 2, 1.25m)], n + " Main Street", "EUR", "standard");

    public static async Task<IReadOnlyList<EventEnvelope>> ReadAllEventsAsync(SqlEventStore store)
    {
        var all = new List<EventEnvelope>();
        long position = 0;
        while (true)
        {
            var page = await store.ReadAllAsync(position, 1000);
            all.AddRange(page.Events);
            position = page.NextPosition;
            if (page.ReachedEnd)
                return all;
        }
    }

    public static async Task<long> CountRowsAsync(SqlEventStore store, string table)
    {
        await using var transaction = await store.BeginTransactionAsync();
        await using var command = transaction.Connection.CreateCommand();
        command.Transaction = transaction.Transaction;
        command.CommandText = "SELECT count(*) FROM " + table;
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public static async Task ExecuteAsync(SqlEventStore store, string sql)
    {
        await using var transaction = await store.BeginTransactionAsync();
        await using var command = transaction.Connection.CreateCommand();
        command.Transaction = transaction.Transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    /// <summary>Every row of an OrderSummary table (the live one or a shadow), as comparable records, by order id.</summary>
    public static async Task<IReadOnlyList<SummaryRow>> ReadSummariesAsync(RuntimeHost host, string? table = null)
    {
        var binding = host.Services.GetRequiredCatalog().Projections.Single(p => p.Name == OrderSummaryProjection.ProjectionName);
        await using var transaction = await host.EventStore.BeginTransactionAsync();
        await using var db = ProjectionDbContext.Create(host.Options.Store.Provider, transaction.Connection, binding, table);
        await db.Database.UseTransactionAsync(transaction.Transaction);
        var rows = await db.Set<OrderSummary>().AsNoTracking().ToListAsync();
        return rows
            .Select(r => new SummaryRow(r.OrderId, r.CustomerId, r.Status, r.TotalAmount, r.Currency, r.ItemCount, r.TrackingNumber,
                r.PlacedAt, r.UpdatedAt, r.CancelReason, r.LastAppliedPosition))
            .OrderBy(r => r.OrderId)
            .ToArray();
    }

    /// <summary>
    /// The OrderSummary rows that a single-threaded replay of the whole store builds in a shadow
    /// table (small batches, one runner), to compare with the live read model.
    /// </summary>
    public static async Task<IReadOnlyList<SummaryRow>> ReplaySummariesAsync(RuntimeHost host, string table = "order_summary_replay")
    {
        var binding = host.Services.GetRequiredCatalog().Projections.Single(p => p.Name == OrderSummaryProjection.ProjectionName);
        var replay = new ProjectionRunner(host.EventStore, host.Options.Store.Provider, binding, batchSize: 7,
            tableName: table, checkpointName: "replay:" + table);
        await replay.EnsureTableAsync();
        await replay.CatchUpAsync();
        return await ReadSummariesAsync(host, table);
    }

    internal static DomainCatalog GetRequiredCatalog(this IServiceProvider services) =>
        (DomainCatalog)services.GetService(typeof(DomainCatalog))!;
}

sealed record SummaryRow(Guid OrderId, string CustomerId, string Status, decimal TotalAmount, string Currency, int ItemCount,
    string? TrackingNumber, DateTimeOffset PlacedAt, DateTimeOffset UpdatedAt, string? CancelReason, long LastAppliedPosition);
