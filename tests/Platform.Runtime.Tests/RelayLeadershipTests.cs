using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.EventStore.Outbox;
using Platform.Runtime.Commands;
using Platform.Runtime.Messaging;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>On PostgreSQL one runtime instance relays at a time, and another takes over when it stops.</summary>
public sealed class RelayLeadershipTests
{
    [SkippableFact]
    public async Task one_instance_relays_and_another_takes_over_from_the_checkpoint_when_it_stops()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Postgres, "runtime");
        Task<RuntimeHost> StartAsync() => RuntimeHost.StartOnAsync(database, Transport.InMemory,
            services: services => services.AddSingleton<ObservationSink>(),
            configure: cfg =>
            {
                cfg.AddEventConsumer<OrderEventRecorder>();
                cfg.Relay.LeaderPollInterval = TimeSpan.FromMilliseconds(200);
                cfg.Projections.Enabled = false;
            });
        var first = await StartAsync();
        await Orders.ExecuteAsync(first.EventStore, OrderEventRecorder.CreateTableSql);
        var second = await StartAsync();
        var running = new List<RuntimeHost> { first, second };
        try
        {
            static OutboxRelayService Relay(RuntimeHost host) => host.Services.GetServices<IHostedService>().OfType<OutboxRelayService>().Single();
            await Eventually.HoldsAsync(() => Task.FromResult(Relay(first).IsLeader || Relay(second).IsLeader), "an instance to lead the relay");
            Assert.False(Relay(first).IsLeader && Relay(second).IsLeader, "both instances relay");
            var (leader, follower) = Relay(first).IsLeader ? (first, second) : (second, first);

            // Each instance has its own in-memory bus: what a sink sees is what that instance's relay published.
            for (var n = 0; n < 5; n++)
                await follower.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(Guid.NewGuid(), n));
            var before = (await Orders.ReadAllEventsAsync(first.EventStore)).Count;
            var leaderSink = leader.Services.GetRequiredService<ObservationSink>();
            var followerSink = follower.Services.GetRequiredService<ObservationSink>();
            await Eventually.HoldsAsync(() => Task.FromResult(leaderSink.HandledInOrder().Count == before), "the leader's relay to publish every event");
            Assert.Empty(followerSink.HandledInOrder());
            Assert.Equal(0, follower.Services.GetRequiredService<OutboxRelay>().PublishedPosition);

            // The leader stops: the follower takes over and continues after the stored checkpoint.
            running.Remove(leader);
            await leader.DisposeAsync();
            await Eventually.HoldsAsync(() => Task.FromResult(Relay(follower).IsLeader), "the follower to take over", TimeSpan.FromSeconds(30));
            var newOrders = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
            foreach (var (id, n) in newOrders.Select((id, n) => (id, n)))
                await follower.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(id, n));
            await Eventually.HoldsAsync(() => Task.FromResult(followerSink.HandledInOrder().Count == newOrders.Length),
                "the new leader to publish the new events", state: () => Task.FromResult($"{followerSink.HandledInOrder().Count} handled"));
            Assert.Equal(newOrders.Select(id => id.ToString("D")).Order(), followerSink.HandledInOrder().Select(h => h.StreamId).Order());
        }
        finally
        {
            foreach (var host in running)
                await host.DisposeAsync();
        }
    }
}
