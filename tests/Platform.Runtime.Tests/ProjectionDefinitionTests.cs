using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.Runtime.Commands;
using Platform.Runtime.Projections;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// A deploy that declares a projection differently: the runtime rebuilds its table at start, and an
/// instance still running the older declaration stops writing the swapped-in table.
/// </summary>
public sealed class ProjectionDefinitionTests
{
    const string Summary = OrderSummaryProjection.ProjectionName;
    static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    // The table as an older build left it: a column this build declares is missing, its rows say
    // something a replay would not, and its fingerprint is another. Without the rebuild the
    // projection fails on the missing column and the stale rows stay.
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_runtime_started_on_a_table_of_another_declaration_rebuilds_it_and_records_its_own(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "definition");
        var ids = new List<Guid>();
        await using (var older = await RuntimeHost.StartOnAsync(database, Transport.InMemory))
        {
            var dispatcher = older.Services.GetRequiredService<ICommandDispatcher>();
            CommandAccepted last = null!;
            for (var n = 0; n < 6; n++)
            {
                ids.Add(Guid.NewGuid());
                await dispatcher.DispatchAsync(Orders.Place(ids[^1], n));
                last = await dispatcher.DispatchAsync(new ConfirmOrder(ids[^1]));
            }
            Assert.Equal(ProjectionWait.Reached, await older.Services.GetRequiredService<ProjectionConsistency>().WaitForAsync(Summary, last, Long));
            Assert.Equal(OrderSummaryProjection.DefinitionFingerprint, await StoredFingerprintAsync(older));
            await ExecuteAsync(older,
                "ALTER TABLE order_summary DROP COLUMN tracking_number",
                "UPDATE order_summary SET status = 'as the older build wrote it'",
                $"UPDATE {ProjectionSchema.DefinitionsTable} SET fingerprint = 'older-build' WHERE projection = '{Summary}'");
        }

        // On PostgreSQL two instances of the new build start at once: one rebuilds, the other waits for it.
        await using var host = await RuntimeHost.StartOnAsync(database, Transport.InMemory);
        await using var twin = store == Store.Postgres ? await RuntimeHost.StartOnAsync(database, Transport.InMemory) : null;
        await Eventually.HoldsAsync(async () => await StoredFingerprintAsync(host) == OrderSummaryProjection.DefinitionFingerprint,
            "the runtime to rebuild the table for its declaration", Long);

        var shipped = await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(new ShipOrder(ids[0], "track-0"));
        Assert.Equal(ProjectionWait.Reached, await host.Services.GetRequiredService<ProjectionConsistency>().WaitForAsync(Summary, shipped, Long));
        var rows = await Orders.ReadSummariesAsync(host);
        Assert.Equal(["Shipped", .. Enumerable.Repeat("Confirmed", 5)], ids.Select(id => rows.Single(r => r.OrderId == id).Status));
        Assert.Equal("track-0", rows.Single(r => r.OrderId == ids[0]).TrackingNumber);
        Assert.Equal(await Orders.ReplaySummariesAsync(host), rows);
        foreach (var instance in new[] { host, twin }.OfType<RuntimeHost>())
            await Eventually.HoldsAsync(() => Task.FromResult(instance.Services.GetRequiredService<ProjectionEngine>().GetStatus()
                .Single(s => s.Name == Summary).State == ProjectionState.Live), "every instance to run the projection live");
    }

    // A rolling deploy: another build's rebuild swaps its table in while this instance runs. This
    // instance's next batch finds the other fingerprint and stops instead of writing rows of its
    // own declaration into the other's table; it goes on once the table is its declaration again.
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_running_instance_stops_writing_a_table_another_declaration_swapped_in_and_goes_on_when_it_is_its_own_again(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var consistency = host.Services.GetRequiredService<ProjectionConsistency>();
        var engine = host.Services.GetRequiredService<ProjectionEngine>();
        var first = await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 1));
        Assert.Equal(ProjectionWait.Reached, await consistency.WaitForAsync(Summary, first, Long));

        var binding = host.Services.GetRequiredCatalog().Projections.Single(p => p.Name == Summary);
        var newer = binding.WithFingerprint("newer-build");
        await new ProjectionRebuilder(host.EventStore, host.Options.Store.Provider).RebuildAsync(newer);
        Assert.Equal("newer-build", await StoredFingerprintAsync(host));

        var late = Guid.NewGuid();
        var afterSwap = await dispatcher.DispatchAsync(Orders.Place(late, 2));
        await Eventually.HoldsAsync(() => Task.FromResult(engine.GetStatus().Single(s => s.Name == Summary).State == ProjectionState.Superseded),
            "the instance to find its table superseded");
        Assert.Equal(ProjectionWait.TimedOut, await consistency.WaitForAsync(Summary, afterSwap, TimeSpan.FromMilliseconds(300)));
        Assert.DoesNotContain(await Orders.ReadSummariesAsync(host), r => r.OrderId == late);
        // Not ready: the instances of the newer build serve the table.
        var health = await ReadinessAsync(host);
        Assert.Equal((HealthStatus.Unhealthy, "OrderSummary: another build's declaration of it owns its table"),
            (health.Entries[PlatformHealthChecks.Projections].Status, health.Entries[PlatformHealthChecks.Projections].Description));
        Assert.Equal(HealthStatus.Healthy, health.Entries[PlatformHealthChecks.Store].Status);

        // The newer build is rolled back: its rebuild of this declaration records this fingerprint again.
        await new ProjectionRebuilder(host.EventStore, host.Options.Store.Provider).RebuildAsync(binding);
        Assert.Equal(ProjectionWait.Reached, await consistency.WaitForAsync(Summary, afterSwap, Long));
        Assert.Contains(await Orders.ReadSummariesAsync(host), r => r.OrderId == late);
        await Eventually.HoldsAsync(() => Task.FromResult(engine.GetStatus().Single(s => s.Name == Summary).State == ProjectionState.Live),
            "the projection to run live again");
        Assert.Equal(HealthStatus.Healthy, (await ReadinessAsync(host)).Entries[PlatformHealthChecks.Projections].Status);
    }

    static Task<HealthReport> ReadinessAsync(RuntimeHost host) =>
        host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(check => check.Tags.Contains(PlatformHealthChecks.ReadyTag));

    static async Task<string?> StoredFingerprintAsync(RuntimeHost host)
    {
        await using var transaction = await host.EventStore.BeginTransactionAsync();
        return await ProjectionSchema.ReadDefinitionAsync(transaction.Connection, transaction.Transaction, Summary, CancellationToken.None);
    }

    static async Task ExecuteAsync(RuntimeHost host, params string[] statements)
    {
        await using var db = host.EventStore.CreateDbContext();
        foreach (var statement in statements)
            await db.Database.ExecuteSqlRawAsync(statement);
    }
}
