namespace Platform.Events;

/// <summary>
/// An event about to be appended: the domain event itself, its unique id and its metadata.
/// The id is what makes an append idempotent: an id that is already stored is never stored twice.
/// </summary>
/// <param name="EventId">Unique id of the event; a retried append must reuse it.</param>
/// <param name="Event">The domain event, an instance of a type registered in the <see cref="EventTypeRegistry"/>.</param>
/// <param name="Metadata">Correlation, causation, user and trace context.</param>
public readonly record struct EventData(Guid EventId, object Event, EventMetadata Metadata = default)
{
    /// <summary>Wraps an event with a new id (version 7, so ids sort roughly by creation time).</summary>
    /// <param name="event">The domain event.</param>
    /// <param name="metadata">Its metadata.</param>
    public static EventData Create(object @event, EventMetadata metadata = default) =>
        new(Guid.CreateVersion7(), @event, metadata);
}
