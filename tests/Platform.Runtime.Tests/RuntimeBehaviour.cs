using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Outbox;
using Platform.Messaging;
using Platform.Runtime.Commands;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The runtime end to end, once per store and transport: commands in (from code and from the bus),
/// events through the outbox relay to an idempotent consumer with prefetch above one, and the
/// projection engine's read model.
/// </summary>
public sealed class RuntimeBehaviour : IDisposable
{
    // Activities are only created when someone listens; the tests listen so that the trace
    // context flows as it does under OpenTelemetry.
    readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == PlatformTelemetry.Name,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public RuntimeBehaviour() => ActivitySource.AddActivityListener(_listener);

    public void Dispose() => _listener.Dispose();

    /// <summary>A runtime with <see cref="OrderEventRecorder"/> telling its <see cref="ObservationSink"/> what it committed.</summary>
    internal static Task<RuntimeHost> StartAsync(Store store, Transport transport) =>
        RuntimeHost.StartAsync(store, transport,
            services => services.AddSingleton<ObservationSink>(),
            cfg => cfg.AddEventConsumer<OrderEventRecorder>());

    [SkippableTheory]
    [MemberData(nameof(Transports.EveryStoreAndTransport), MemberType = typeof(Transports))]
    public async Task the_read_model_equals_a_single_threaded_replay_and_each_aggregate_is_consumed_in_version_order(
        Store store, Transport transport)
    {
        await using var host = await StartAsync(store, transport);
        await Orders.ExecuteAsync(host.EventStore, OrderEventRecorder.CreateTableSql);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var commandQueue = host.Options.CommandAddress;

        // Every order: placed, confirmed, then shipped or cancelled (or left confirmed), half of
        // them through the bus and half from code, all orders at once.
        const int orderCount = 24;
        var ids = Enumerable.Range(0, orderCount).Select(_ => Guid.NewGuid()).ToArray();
        var causedBy = new System.Collections.Concurrent.ConcurrentDictionary<(string Stream, long Version), Guid>();
        await Task.WhenAll(ids.Select(async (id, n) =>
        {
            var correlation = "flow-" + n;
            async Task<CommandAccepted> Run<T>(T command) where T : class
            {
                CommandAccepted accepted;
                if (n % 2 == 0)
                {
                    accepted = await dispatcher.DispatchAsync(command, new CommandContext(CorrelationId: correlation, UserId: "user-" + n));
                }
                else
                {
                    var client = host.Bus.CreateRequestClient<T>(commandQueue, RequestTimeout.After(s: 30));
                    accepted = (await client.GetResponse<CommandAccepted>(command,
                        request => request.UseExecute(send =>
                        {
                            send.Headers.Set(PlatformHeaders.CorrelationId, correlation);
                            send.Headers.Set(PlatformHeaders.UserId, "user-" + n);
                        }))).Message;
                }
                causedBy[(accepted.StreamId, accepted.Version)] = accepted.CommandId;
                return accepted;
            }

            Assert.Equal(1, (await Run(Orders.Place(id, n))).Version);
            Assert.Equal(2, (await Run(new ConfirmOrder(id))).Version);
            if (n % 3 == 0)
                Assert.Equal(3, (await Run(new ShipOrder(id, "track-" + n))).Version);
            else if (n % 3 == 1)
                Assert.Equal(3, (await Run(new CancelOrder(id, "changed my mind"))).Version);
        })).WaitAsync(TimeSpan.FromSeconds(60));

        var events = await Orders.ReadAllEventsAsync(host.EventStore);
        Assert.Equal(orderCount * 2 + orderCount / 3 * 2, events.Count);
        var last = events[^1].GlobalPosition;

        // Correlation, causation and the user flow from the command (from code or from the bus) into every event.
        foreach (var envelope in events)
        {
            var n = Array.IndexOf(ids, Guid.Parse(envelope.StreamId));
            Assert.Equal("flow-" + n, envelope.CorrelationId);
            Assert.Equal("user-" + n, envelope.Metadata.UserId);
            Assert.Equal(causedBy[(envelope.StreamId, envelope.StreamVersion)].ToString("D"), envelope.CausationId);
        }

        var sink = host.Services.GetRequiredService<ObservationSink>();
        var relay = host.Services.GetRequiredService<OutboxRelay>();
        await Eventually.HoldsAsync(async () => sink.HandledInOrder().Count == events.Count
                                                && await host.EventStore.GetCheckpointAsync("projection:OrderSummary") >= last,
            "the consumer and the projection to see every event", state: async () =>
                $"handled {sink.HandledInOrder().Count} of {events.Count}, relay at {relay.PublishedPosition}, projection at " +
                $"{await host.EventStore.GetCheckpointAsync("projection:OrderSummary")} of {last}");

        // Per-aggregate order: when the consumer ran each event's effects, the effects of exactly
        // the versions before it were committed (seen from inside its transaction), none twice.
        var handled = sink.HandledInOrder();
        Assert.Equal(events.Count, handled.Count);
        Assert.True(sink.OrderViolations.IsEmpty, string.Join(Environment.NewLine, sink.OrderViolations));
        Assert.Equal(events.Select(e => e.EventId).Order(), handled.Select(h => h.EventId).Order());
        Assert.Equal(events.Count, await Orders.CountRowsAsync(host.EventStore, "consumer_effects"));

        // Every header the relay sets matches the stored event; the trace continues the command's.
        var stored = events.ToDictionary(e => e.EventId);
        foreach (var seen in handled)
        {
            var envelope = stored[seen.EventId];
            Assert.Equal((envelope.TypeName, envelope.StreamId, envelope.StreamVersion, envelope.GlobalPosition),
                (seen.EventType, seen.StreamId, seen.StreamVersion, seen.GlobalPosition));
            Assert.Equal(envelope.CorrelationId, seen.CorrelationId);
            Assert.Equal(envelope.CausationId, seen.CausationId);
            Assert.Equal(envelope.Metadata.UserId, sink.Users[seen.EventId]);
            Assert.NotNull(envelope.Metadata.TraceParent);
            Assert.Equal(ActivityContext.Parse(envelope.Metadata.TraceParent!, null).TraceId,
                ActivityContext.Parse(sink.TraceParents[seen.EventId]!, null).TraceId);
        }

        // The live read model equals one built by a single-threaded replay of the store into a shadow table.
        var live = await Orders.ReadSummariesAsync(host);
        Assert.Equal(orderCount, live.Count);
        Assert.Equal(orderCount / 3, live.Count(r => r.Status == "Shipped"));
        Assert.Equal(orderCount / 3, live.Count(r => r.Status == "Cancelled"));
        Assert.Equal(await Orders.ReplaySummariesAsync(host), live);
        // The relay saves its checkpoint after the publish, so consumers can be done before it is.
        await Eventually.HoldsAsync(() => Task.FromResult(relay.PublishedPosition >= last), "the relay's checkpoint to pass the last event");
    }

    [SkippableTheory]
    [MemberData(nameof(Transports.EveryStoreAndTransport), MemberType = typeof(Transports))]
    public async Task a_redelivered_event_changes_nothing(Store store, Transport transport)
    {
        await using var host = await StartAsync(store, transport);
        await Orders.ExecuteAsync(host.EventStore, OrderEventRecorder.CreateTableSql);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        for (var n = 0; n < 6; n++)
        {
            var id = Guid.NewGuid();
            await dispatcher.DispatchAsync(Orders.Place(id, n));
            await dispatcher.DispatchAsync(new ConfirmOrder(id));
        }
        var events = await Orders.ReadAllEventsAsync(host.EventStore);
        var last = events[^1].GlobalPosition;
        var sink = host.Services.GetRequiredService<ObservationSink>();
        var relay = host.Services.GetRequiredService<OutboxRelay>();
        await Eventually.HoldsAsync(async () => sink.HandledInOrder().Count == events.Count && relay.PublishedPosition >= last
                                                && await host.EventStore.GetCheckpointAsync("projection:OrderSummary") >= last,
            "every event to be consumed and projected once");
        var summaries = await Orders.ReadSummariesAsync(host);

        // The relay loses its checkpoint (as after a crash between publish and checkpoint) and
        // publishes everything again; the projection engine is rewound the same way.
        await host.EventStore.SaveCheckpointAsync("outbox", 0);
        await host.EventStore.SaveCheckpointAsync("projection:OrderSummary", 0);
        await Eventually.HoldsAsync(async () => sink.RedeliveriesIgnored == events.Count
                                                && await host.EventStore.GetCheckpointAsync("projection:OrderSummary") >= last,
            "every event to be delivered and projected a second time", state: async () =>
                $"redeliveries ignored {sink.RedeliveriesIgnored} of {events.Count}, relay at {relay.PublishedPosition}, projection at " +
                $"{await host.EventStore.GetCheckpointAsync("projection:OrderSummary")} of {last}");

        Assert.Equal(events.Count, sink.HandledInOrder().Count);
        Assert.Equal(events.Count, await Orders.CountRowsAsync(host.EventStore, "consumer_effects"));
        Assert.Equal(summaries, await Orders.ReadSummariesAsync(host));
    }
}
