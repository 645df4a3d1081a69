using System.Diagnostics;
using System.Globalization;
using Platform.Events;
using Platform.Messaging;

namespace Platform.Runtime.Messaging;

/// <summary>What the outbox relay sends with a stored event on every transport: its activity and its headers.</summary>
static class RelayMessage
{
    /// <summary>
    /// The publish activity, continuing the trace of the command that stored the event: the relay
    /// runs much later on another thread, so the only link is the traceparent kept in the event's
    /// metadata. Null while nobody listens.
    /// </summary>
    public static Activity? StartActivity(EventEnvelope envelope, string transport)
    {
        if (!PlatformTelemetry.ActivitySource.HasListeners())
            return null; // before the name's concatenation and the parse, per event
        ActivityContext.TryParse(envelope.Metadata.TraceParent, envelope.Metadata.TraceState, out var parent);
        var activity = PlatformTelemetry.ActivitySource.StartActivity("platform.publish " + envelope.TypeName, ActivityKind.Producer, parent);
        activity?.SetTag("platform.stream_id", envelope.StreamId);
        activity?.SetTag("platform.global_position", envelope.GlobalPosition);
        activity?.SetTag("messaging.system", transport);
        return activity;
    }

    /// <summary>
    /// Every <see cref="PlatformHeaders"/> header and the W3C trace context (the publish activity's
    /// when something listens, else the stored one, so the consumer continues the command's trace),
    /// set on <paramref name="target"/> by <paramref name="set"/>, a static lambda: no closure per event.
    /// </summary>
    /// <param name="envelope">The stored event.</param>
    /// <param name="schemaVersion">The version of the payload as sent.</param>
    /// <param name="activity">The publish activity, or null.</param>
    /// <param name="target">What the headers are set on.</param>
    /// <param name="set">Sets one header on the target.</param>
    public static void WriteHeaders<TTarget>(EventEnvelope envelope, int schemaVersion, Activity? activity, TTarget target, Action<TTarget, string, string> set)
    {
        void Set(string name, string value) => set(target, name, value);
        Set(PlatformHeaders.EventId, envelope.EventId.ToString("D"));
        Set(PlatformHeaders.EventType, envelope.TypeName);
        Set(PlatformHeaders.SchemaVersion, schemaVersion.ToString(CultureInfo.InvariantCulture));
        Set(PlatformHeaders.StreamId, envelope.StreamId);
        Set(PlatformHeaders.StreamType, envelope.StreamType);
        Set(PlatformHeaders.StreamVersion, envelope.StreamVersion.ToString(CultureInfo.InvariantCulture));
        Set(PlatformHeaders.GlobalPosition, envelope.GlobalPosition.ToString(CultureInfo.InvariantCulture));
        if (envelope.CorrelationId is not null)
            Set(PlatformHeaders.CorrelationId, envelope.CorrelationId);
        if (envelope.CausationId is not null)
            Set(PlatformHeaders.CausationId, envelope.CausationId);
        // The user the event was written for, when there was one: a reaction or saga step passes it
        // on with the commands it sends (TransactionalOutbox), and a reaction may read it ($meta.userId).
        if (envelope.Metadata.UserId is not null)
            Set(PlatformHeaders.UserId, envelope.Metadata.UserId);
        if ((activity?.Id ?? envelope.Metadata.TraceParent) is { } traceParent)
            Set(MassTransitEventPublisher.TraceParentHeader, traceParent);
        if ((activity?.TraceStateString ?? envelope.Metadata.TraceState) is { } traceState)
            Set(MassTransitEventPublisher.TraceStateHeader, traceState);
    }
}
