namespace Platform.Events;

/// <summary>
/// A stored event as code sees it after reading: the event, already upcast to the current schema
/// version of its type, and everything the store knows about it.
/// </summary>
public sealed class EventEnvelope
{
    /// <summary>Creates an envelope. The store does this when reading; tests and transports may too.</summary>
    /// <param name="eventId">Unique id of the event.</param>
    /// <param name="typeName">Stable type name, as registered.</param>
    /// <param name="schemaVersion">Schema version the event was stored with (before upcasting).</param>
    /// <param name="streamId">The stream (aggregate id).</param>
    /// <param name="streamType">The stream's type (aggregate type).</param>
    /// <param name="streamVersion">Position of the event inside its stream, from 1.</param>
    /// <param name="globalPosition">Position of the event in the store, increasing in commit order for catch-up readers.</param>
    /// <param name="timestamp">When the event was appended (UTC).</param>
    /// <param name="metadata">Correlation, causation, user and trace context.</param>
    /// <param name="event">The event at the current schema version of its type.</param>
    public EventEnvelope(
        Guid eventId,
        string typeName,
        int schemaVersion,
        string streamId,
        string streamType,
        long streamVersion,
        long globalPosition,
        DateTimeOffset timestamp,
        EventMetadata metadata,
        object @event)
    {
        EventId = eventId;
        TypeName = typeName;
        SchemaVersion = schemaVersion;
        StreamId = streamId;
        StreamType = streamType;
        StreamVersion = streamVersion;
        GlobalPosition = globalPosition;
        Timestamp = timestamp;
        Metadata = metadata;
        Event = @event;
    }

    /// <summary>Unique id of the event; consumers deduplicate by it.</summary>
    public Guid EventId { get; }

    /// <summary>Stable type name, as registered (not the CLR name).</summary>
    public string TypeName { get; }

    /// <summary>Schema version the event was stored with; <see cref="Event"/> is always the current version.</summary>
    public int SchemaVersion { get; }

    /// <summary>The stream the event belongs to: the aggregate id.</summary>
    public string StreamId { get; }

    /// <summary>The stream's type: the aggregate type.</summary>
    public string StreamType { get; }

    /// <summary>Version of the stream after this event, starting at 1.</summary>
    public long StreamVersion { get; }

    /// <summary>Position in the whole store. Catch-up readers see positions in increasing order, with no event committed late behind them.</summary>
    public long GlobalPosition { get; }

    /// <summary>When the event was appended (UTC).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Correlation, causation, user and trace context.</summary>
    public EventMetadata Metadata { get; }

    /// <summary>The event, upcast to the current schema version of its type.</summary>
    public object Event { get; }

    /// <summary>Correlation id, or null.</summary>
    public string? CorrelationId => Metadata.CorrelationId;

    /// <summary>Causation id, or null.</summary>
    public string? CausationId => Metadata.CausationId;

    /// <inheritdoc />
    public override string ToString() =>
        $"{TypeName} v{SchemaVersion} {StreamId}@{StreamVersion} #{GlobalPosition}";
}
