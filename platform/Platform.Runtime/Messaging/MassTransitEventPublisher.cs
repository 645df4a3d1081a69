using MassTransit;
using Platform.Events;
using Platform.Messaging;
using Platform.Persistence;

namespace Platform.Runtime.Messaging;

/// <summary>
/// The <see cref="IEventPublisher"/> the outbox relay publishes through: each stored event goes out
/// as its generated CLR type (so generated sagas and reaction consumers receive it typed), with the
/// event id as message id, every <see cref="PlatformHeaders"/> header and the W3C trace context of
/// the command that stored it. <see cref="PlatformHeaders.PayloadVersion"/> says which version of
/// the type the message is, so a consumer of another build can upcast it (see <c>EventVersionFilter</c>).
/// </summary>
public sealed class MassTransitEventPublisher : IEventPublisher
{
    /// <summary>The W3C trace context header.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>The W3C trace state header.</summary>
    public const string TraceStateHeader = "tracestate";

    readonly IPublishEndpoint _bus;
    readonly EventTypeRegistry _registry;

    /// <summary>Creates the publisher.</summary>
    /// <param name="bus">The bus (<see cref="IBus"/>).</param>
    /// <param name="registry">This build's event types: the version each message is sent at.</param>
    public MassTransitEventPublisher(IPublishEndpoint bus, EventTypeRegistry registry)
    {
        _bus = bus;
        _registry = registry;
    }

    /// <inheritdoc />
    public async Task PublishAsync(IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken)
    {
        // One stream's events are published one after another, in version order, so they enter
        // each queue in that order (what per-aggregate ordering downstream relies on); different
        // streams are published concurrently, since their relative order does not matter.
        var streams = new Dictionary<string, List<EventEnvelope>>(StringComparer.Ordinal);
        foreach (var envelope in events)
        {
            if (!streams.TryGetValue(envelope.StreamId, out var list))
                streams.Add(envelope.StreamId, list = []);
            list.Add(envelope);
        }
        await Task.WhenAll(streams.Values.Select(list => PublishInOrderAsync(list, cancellationToken))).ConfigureAwait(false);
        PlatformTelemetry.EventsPublished.Add(events.Count);
    }

    async Task PublishInOrderAsync(List<EventEnvelope> stream, CancellationToken cancellationToken)
    {
        foreach (var envelope in stream)
            await PublishAsync(envelope, cancellationToken).ConfigureAwait(false);
    }

    async Task PublishAsync(EventEnvelope envelope, CancellationToken cancellationToken)
    {
        using var activity = RelayMessage.StartActivity(envelope, "masstransit");
        var payloadVersion = PayloadVersionHeader.Text(_registry.Get(envelope.Event.GetType()).SchemaVersion);
        await _bus.Publish(envelope.Event, envelope.Event.GetType(), Pipe.Execute<PublishContext>(context =>
        {
            context.MessageId = envelope.EventId;
            if (Guid.TryParse(envelope.CorrelationId, out var correlation))
                context.CorrelationId = correlation;
            // The stored version: the message is the upcast CLR object, the header says what was written.
            RelayMessage.WriteHeaders(envelope, envelope.SchemaVersion, activity, context.Headers, static (headers, name, value) => headers.Set(name, value));
            context.Headers.Set(PlatformHeaders.PayloadVersion, payloadVersion);
        }), cancellationToken).ConfigureAwait(false);
    }
}
