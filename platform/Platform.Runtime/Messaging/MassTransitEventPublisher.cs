using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Platform.Events;
using Platform.Messaging;
using Platform.Persistence;

namespace Platform.Runtime.Messaging;

/// <summary>
/// The <see cref="IEventPublisher"/> the outbox relay publishes through: each stored event goes out
/// as its generated CLR type (so generated sagas and reaction consumers receive it typed), with the
/// event id as message id, every <see cref="PlatformHeaders"/> header and the W3C trace context of
/// the command that stored it.
/// </summary>
public sealed class MassTransitEventPublisher : IEventPublisher
{
    /// <summary>The W3C trace context header.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>The W3C trace state header.</summary>
    public const string TraceStateHeader = "tracestate";

    readonly IPublishEndpoint _bus;

    /// <summary>Creates the publisher.</summary>
    /// <param name="bus">The bus (<see cref="IBus"/>).</param>
    public MassTransitEventPublisher(IPublishEndpoint bus) => _bus = bus;

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
        // Continue the trace of the command that stored the event: the relay runs much later on
        // another thread, so the only link is the traceparent kept in the event's metadata.
        ActivityContext.TryParse(envelope.Metadata.TraceParent, envelope.Metadata.TraceState, out var parent);
        using var activity = PlatformTelemetry.ActivitySource.StartActivity(
            "platform.publish " + envelope.TypeName, ActivityKind.Producer, parent);
        activity?.SetTag("platform.stream_id", envelope.StreamId);
        activity?.SetTag("platform.global_position", envelope.GlobalPosition);

        await _bus.Publish(envelope.Event, envelope.Event.GetType(), Pipe.Execute<PublishContext>(context =>
        {
            context.MessageId = envelope.EventId;
            if (Guid.TryParse(envelope.CorrelationId, out var correlation))
                context.CorrelationId = correlation;
            var headers = context.Headers;
            headers.Set(PlatformHeaders.EventId, envelope.EventId.ToString("D"));
            headers.Set(PlatformHeaders.EventType, envelope.TypeName);
            headers.Set(PlatformHeaders.SchemaVersion, envelope.SchemaVersion.ToString(CultureInfo.InvariantCulture));
            headers.Set(PlatformHeaders.StreamId, envelope.StreamId);
            headers.Set(PlatformHeaders.StreamType, envelope.StreamType);
            headers.Set(PlatformHeaders.StreamVersion, envelope.StreamVersion.ToString(CultureInfo.InvariantCulture));
            headers.Set(PlatformHeaders.GlobalPosition, envelope.GlobalPosition.ToString(CultureInfo.InvariantCulture));
            if (envelope.CorrelationId is not null)
                headers.Set(PlatformHeaders.CorrelationId, envelope.CorrelationId);
            if (envelope.CausationId is not null)
                headers.Set(PlatformHeaders.CausationId, envelope.CausationId);
            // The publish activity's id when something listens, else the stored one: either way
            // the consumer continues the command's trace.
            var traceParent = activity?.Id ?? envelope.Metadata.TraceParent;
            if (traceParent is not null)
                headers.Set(TraceParentHeader, traceParent);
            var traceState = activity?.TraceStateString ?? envelope.Metadata.TraceState;
            if (traceState is not null)
                headers.Set(TraceStateHeader, traceState);
        }), cancellationToken).ConfigureAwait(false);
    }
}
