using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Commands;
using Platform.Runtime.Domains;
using Platform.Runtime.Projections;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>Live rebuild of a projection into a shadow table and the atomic swap (issue 6).</summary>
public sealed class ProjectionRebuildTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_rebuild_while_events_keep_arriving_swaps_in_a_table_equal_to_a_fresh_replay_with_nothing_applied_twice(Store store)
    {
        // Small batches so the rebuild takes several transactions and the live projection commits between them.
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory, configure: cfg => cfg.Projections.BatchSize = cfg.Projections.RebuildBatchSize = 8);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var engine = host.Services.GetRequiredService<ProjectionEngine>();
        for (var n = 0; n < 20; n++)
        {
            var id = Guid.NewGuid();
            await dispatcher.DispatchAsync(Orders.Place(id, n));
            await dispatcher.DispatchAsync(new ConfirmOrder(id));
        }

        // A writer keeps placing, confirming and shipping or cancelling orders through the rebuild and after the swap.
        using var stopWriting = new CancellationTokenSource();
        var ordersWritten = 0;
        var writer = Task.Run(async () =>
        {
            for (var n = 100; !stopWriting.IsCancellationRequested; n++)
            {
                var id = Guid.NewGuid();
                await dispatcher.DispatchAsync(Orders.Place(id, n));
                await dispatcher.DispatchAsync(new ConfirmOrder(id));
                await (n % 2 == 0 ? dispatcher.DispatchAsync(new ShipOrder(id, "track-" + n)) : dispatcher.DispatchAsync(new CancelOrder(id, "no")));
                Interlocked.Increment(ref ordersWritten);
            }
        });

        var reports = new List<RebuildProgress>();
        var seen = new List<ProjectionStatus>();
        var progress = new InlineProgress(report =>
        {
            seen.Add(engine.GetStatus().Single(s => s.Name == OrderSummaryProjection.ProjectionName));
            if (reports.Count == 0)
            {
                // Hold the first batch until the writer has added orders, so events arrive while the shadow is built.
                var before = Volatile.Read(ref ordersWritten);
                Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref ordersWritten) >= before + 5, TimeSpan.FromSeconds(20)),
                    "the writer to add orders during the rebuild");
                // The live projection keeps applying them into the live table meanwhile, past the
                // shadow's first batch, so the swap must catch the shadow up before it can happen.
                Assert.True(SpinWait.SpinUntil(() => engine.GetStatus().Single(s => s.Name == OrderSummaryProjection.ProjectionName).Position > report.Position,
                    TimeSpan.FromSeconds(20)), "the live projection to keep running during the rebuild");
            }
            reports.Add(report);
        });
        var result = await engine.RebuildAsync(OrderSummaryProjection.ProjectionName, progress).WaitAsync(TimeSpan.FromSeconds(30));

        // Some more orders reach the swapped-in table through the live projection, then the writer stops.
        var afterSwap = Volatile.Read(ref ordersWritten);
        await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref ordersWritten) >= afterSwap + 3), "orders after the swap");
        await stopWriting.CancelAsync();
        await writer.WaitAsync(TimeSpan.FromSeconds(30));
        var head = await host.EventStore.GetHeadPositionAsync();
        await Eventually.HoldsAsync(async () => await host.EventStore.GetCheckpointAsync("projection:OrderSummary") >= head,
            "the live projection to reach the head after the swap");

        Assert.True(result.SwappedAtPosition > reports[0].Position, "events arrived during the rebuild");
        Assert.Contains(seen, s => s.State == ProjectionState.Rebuilding);
        Assert.Equal(result.SwappedAtPosition, reports[^1].Position);
        var events = await Orders.ReadAllEventsAsync(host.EventStore);
        Assert.Equal(events.Count(e => e.GlobalPosition <= result.SwappedAtPosition), reports[^1].EventsRead);
        Assert.True(reports[^1].EventsPerSecond > 0 && reports[^1].Eta is not null);

        // Nothing applied twice: every handler call, in the shadow and in the live table before
        // and after the swap, changed its row (the handler skips a position it already applied).
        var status = (await engine.GetStatusAsync()).Single(s => s.Name == OrderSummaryProjection.ProjectionName);
        Assert.Equal(0, result.EventsUnchanged);
        Assert.Equal(0, status.EventsUnchanged);
        Assert.Equal(ProjectionState.Live, status.State);
        Assert.Equal(0, status.LagPositions);

        // Nothing missed: the live table equals a fresh single-threaded replay.
        var binding = host.Services.GetRequiredService<DomainCatalog>().Projections.Single(p => p.Name == OrderSummaryProjection.ProjectionName);
        var replay = new ProjectionRunner(host.EventStore, host.Options.Store.Provider, binding, batchSize: 1000,
            tableName: "order_summary_fresh", checkpointName: "fresh:OrderSummary");
        await replay.EnsureTableAsync();
        await replay.CatchUpAsync();
        var live = await Orders.ReadSummariesAsync(host);
        Assert.Equal(20 + Volatile.Read(ref ordersWritten), live.Count);
        Assert.Equal(await Orders.ReadSummariesAsync(host, "order_summary_fresh"), live);
        Assert.Equal(0, await host.EventStore.GetCheckpointAsync(ProjectionRebuilder.ShadowCheckpointName(binding)));
    }

    /// <summary>Reports on the rebuild's thread (Progress&lt;T&gt; would post to the thread pool and race the asserts).</summary>
    sealed class InlineProgress(Action<RebuildProgress> report) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress value) => report(value);
    }
}
