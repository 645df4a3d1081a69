using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Sagas;
using Xunit;

namespace Platform.Sagas.Tests;

/// <summary>
/// A stored instance in a state the build's machine does not have (a state removed by a later
/// build, past the lock): the runtime names it at start instead of leaving it to be found unmoved.
/// </summary>
public sealed class StrandedStateTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task an_instance_stored_in_a_state_the_build_does_not_have_is_reported_at_start(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "stranded");
        var running = Guid.NewGuid();
        await using (var first = await SagaHost.StartAsync(database, Transport.InMemory))
        {
            await first.PlaceAsync(running, 1);
            await Eventually.HoldsAsync(async () => await first.StateOfAsync(running) == "Completed", "the saga to complete");
            Assert.Empty(await first.Services.GetRequiredService<SagaRuntime>().FindStrandedAsync(CancellationToken.None));
        }
        // Two instances as an older build left them, in a state this build's machine lacks; one resolved by an operator.
        await using (var connection = await database.OpenAsync())
        {
            foreach (var (id, resolved) in new[] { (Guid.NewGuid(), (string?)null), (Guid.NewGuid(), null), (Guid.NewGuid(), "2026-11-28T00:00:00.0000000Z") })
            {
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO saga_instances (saga_name, correlation_id, current_state, version, data, created_at, updated_at, resolved_at, resolution) " +
                                     $"VALUES ('OrderFulfilment', '{id:D}', 'AwaitingGiftWrap', 1, '{{}}', '2026-11-27T00:00:00.0000000Z', '2026-11-27T00:00:00.0000000Z', " +
                                     (resolved is null ? "NULL, NULL)" : $"'{resolved}', 'by hand')");
                await insert.ExecuteNonQueryAsync();
            }
        }

        await using var host = await SagaHost.StartAsync(database, Transport.InMemory);
        Assert.Equal([("OrderFulfilment", "AwaitingGiftWrap", 2L)], await host.Services.GetRequiredService<SagaRuntime>().FindStrandedAsync(CancellationToken.None));
        await Eventually.HoldsAsync(() => Task.FromResult(host.Logs.Entries.Any(e => e.StartsWith(
                "Error: Saga OrderFulfilment: 2 stored instance(s) are in state AwaitingGiftWrap, which this build's state machine does not have", StringComparison.Ordinal))),
            "the runtime to report the stranded instances");
        Assert.DoesNotContain(host.Logs.Entries, e => e.Contains("state Completed", StringComparison.Ordinal));
    }
}
