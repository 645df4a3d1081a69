using System.Globalization;
using MassTransit;
using Platform.Messaging;

namespace Platform.Runtime.Messaging;

/// <summary>The stored event's place and lineage, read from the headers the relay set.</summary>
/// <param name="EventId">The stored event's id.</param>
/// <param name="EventType">The stored type name.</param>
/// <param name="StreamId">The stream (aggregate) id.</param>
/// <param name="StreamVersion">The event's version in its stream.</param>
/// <param name="GlobalPosition">The event's global position.</param>
/// <param name="CorrelationId">The business flow's correlation id.</param>
/// <param name="CausationId">What caused the event.</param>
public sealed record EventHeaders(Guid EventId, string EventType, string StreamId, long StreamVersion, long GlobalPosition,
    string? CorrelationId, string? CausationId)
{
    /// <summary>Reads the headers of a consumed event.</summary>
    /// <param name="context">The consume context.</param>
    /// <exception cref="InvalidOperationException">The message was not published by the outbox relay.</exception>
    public static EventHeaders From(ConsumeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Headers;
        var eventId = Guid.TryParse(headers.Get<string>(PlatformHeaders.EventId), out var id)
            ? id
            : context.MessageId ?? throw NotStored(PlatformHeaders.EventId);
        return new EventHeaders(
            eventId,
            headers.Get<string>(PlatformHeaders.EventType) ?? throw NotStored(PlatformHeaders.EventType),
            headers.Get<string>(PlatformHeaders.StreamId) ?? throw NotStored(PlatformHeaders.StreamId),
            ReadLong(headers, PlatformHeaders.StreamVersion),
            ReadLong(headers, PlatformHeaders.GlobalPosition),
            headers.Get<string>(PlatformHeaders.CorrelationId),
            headers.Get<string>(PlatformHeaders.CausationId));
    }

    static long ReadLong(Headers headers, string name) =>
        long.TryParse(headers.Get<string>(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw NotStored(name);

    static InvalidOperationException NotStored(string header) =>
        new($"The message has no '{header}' header: only events published by the outbox relay can be consumed here.");
}
