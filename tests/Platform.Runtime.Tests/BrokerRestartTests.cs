using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Outbox;
using Platform.Runtime.Commands;
using Shop.Orders;
using Xunit;
using Xunit.Abstractions;

namespace Platform.Runtime.Tests;

/// <summary>
/// The broker stopped and started again while events keep being stored (issue 6): on a broker
/// node of the test's own (<see cref="DedicatedBrokers"/>), never the shared one.
/// </summary>
[Collection(DedicatedBrokers.Collection)]
public sealed class BrokerRestartTests(DedicatedBrokers brokers, ITestOutputHelper output)
{
    [SkippableTheory]
    [MemberData(nameof(Transports.PostgresAndRestartableTransport), MemberType = typeof(Transports))]
    public async Task a_broker_restarted_in_the_middle_of_a_stream_of_events_loses_nothing_and_doubles_nothing(
        Store store, Transport transport)
    {
        var clock = Stopwatch.StartNew();
        var broker = await brokers.GetAsync(transport);
        var brokerStarted = clock.Elapsed;
        await using var database = await TestDatabase.CreateAsync(store, "runtime");
        // Before the restart the recorder holds each delivery 2 s between its commit and the
        // acknowledgement, so that the restart finds messages queued and messages committed but not
        // acknowledged; the broker must keep the first and deliver the second again, for the inbox to drop.
        var sink = new ObservationSink();
        await using var host = await RuntimeHost.StartOnAsync(database, transport, broker.Address,
            services => services.AddSingleton(sink),
            cfg =>
            {
                cfg.AddEventConsumer<OrderEventRecorder>();
                // Durable queues and persistent messages: what is queued must survive the restart.
                cfg.Transport.AutoDeleteQueues = false;
                cfg.Transport.Partitions = 8;
                cfg.Projections.Enabled = false;
                // A publish whose confirm the restart lost never completes (rabbitmq-dotnet-client
                // #1930; a CI run's relay stopped there): the relay gives up on it and publishes again.
                cfg.Relay.PublishTimeout = TimeSpan.FromSeconds(5);
            });
        await Orders.ExecuteAsync(host.EventStore, OrderEventRecorder.CreateTableSql);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var relay = host.Services.GetRequiredService<OutboxRelay>();

        // The stream: order after order placed, confirmed and shipped, from code (commands do not
        // need the broker), before, during and after the restart.
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = Guid.NewGuid();
                await dispatcher.DispatchAsync(Orders.Place(id, n));
                await dispatcher.DispatchAsync(new ConfirmOrder(id));
                await dispatcher.DispatchAsync(new ShipOrder(id, "track-" + n));
                Interlocked.Increment(ref written);
                // The stream's rate (about 15 events/s), not a wait for a condition.
                await Task.Delay(150);
            }
        });

        await Eventually.HoldsAsync(() => Task.FromResult(sink.HandledInOrder().Count >= 10 || writer.IsCompleted),
            "10 events to go through the broker before the restart");
        sink.HoldBeforeAck = TimeSpan.FromSeconds(2);
        var backlog = 0;
        await Eventually.HoldsAsync(async () =>
            {
                var published = (await Orders.ReadAllEventsAsync(host.EventStore)).Count(e => e.GlobalPosition <= relay.PublishedPosition);
                backlog = published - sink.HandledInOrder().Count;
                return backlog >= 20 || writer.IsCompleted;
            }, "20 published events waiting for the consumer", state: () => Task.FromResult($"backlog {backlog}"));
        var handledBeforeRestart = sink.HandledInOrder().Count;
        var headBeforeRestart = await host.EventStore.GetHeadPositionAsync();
        var restarting = Stopwatch.StartNew();
        await broker.RestartAsync();
        restarting.Stop();
        sink.HoldBeforeAck = TimeSpan.Zero;
        var headAfterRestart = await host.EventStore.GetHeadPositionAsync();
        var writtenAfterRestart = Volatile.Read(ref written);
        await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref written) >= writtenAfterRestart + 5 || writer.IsCompleted),
            "five more orders after the restart");
        stop.Cancel();
        await writer;

        var events = await Orders.ReadAllEventsAsync(host.EventStore);
        await Eventually.HoldsAsync(() => Task.FromResult(sink.HandledInOrder().Count >= events.Count),
            "every event stored before, during and after the restart to be consumed", TimeSpan.FromSeconds(60), () =>
                Task.FromResult($"handled {sink.HandledInOrder().Count} of {events.Count}, relay at {relay.PublishedPosition} of " +
                                $"{events[^1].GlobalPosition}, its last error: {relay.LastError?.Message ?? "none"}"));
        var caughtUp = clock.Elapsed;

        var handled = sink.HandledInOrder();
        output.WriteLine($"{store}/{transport}: broker node started in {brokerStarted.TotalSeconds:0.0} s, restarted in " +
                         $"{restarting.Elapsed.TotalSeconds:0.0} s; {events.Count} events, {backlog} published but not consumed at the " +
                         $"restart, {headAfterRestart - headBeforeRestart} stored during it, {handledBeforeRestart} handled before it; {sink.Deliveries} deliveries, " +
                         $"{sink.RedeliveriesIgnored} redeliveries dropped by the inbox; all consumed after {caughtUp.TotalSeconds:0.0} s");

        // The restart happened in the middle of the stream: events were consumed before it,
        // stored while the broker was down, and stored after it.
        Assert.InRange(handledBeforeRestart, 1, events.Count - 1);
        Assert.True(headAfterRestart > headBeforeRestart, "no event was stored while the broker restarted");
        Assert.True(events[^1].GlobalPosition > headAfterRestart, "no event was stored after the restart");
        Assert.True(backlog >= 20, $"only {backlog} events were published and not consumed when the broker stopped");
        // Deliveries committed but not acknowledged when the broker stopped came again and changed nothing.
        Assert.True(sink.RedeliveriesIgnored > 0, "no delivery committed before the restart came again after it");

        // Nothing lost, nothing doubled: every stored event's effects exactly once, in stream order.
        Assert.Equal(events.Select(e => e.EventId).Order(), handled.Select(h => h.EventId).Order());
        Assert.Equal(events.Count, await Orders.CountRowsAsync(host.EventStore, "consumer_effects"));
        Assert.True(sink.OrderViolations.IsEmpty, string.Join(Environment.NewLine, sink.OrderViolations));
    }
}
