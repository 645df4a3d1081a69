namespace Platform.Messaging;

/// <summary>
/// Header names the outbox relay sets on every event it publishes, on every transport. Consumers,
/// projections and generated sagas read the stream and position from them instead of from the
/// event body, which carries only the event's own fields.
/// </summary>
public static class PlatformHeaders
{
    /// <summary>The stored event's id (also the message id): what consumers deduplicate by.</summary>
    public const string EventId = "Platform-Event-Id";

    /// <summary>The stable event type name.</summary>
    public const string EventType = "Platform-Event-Type";

    /// <summary>
    /// The event's schema version. On RabbitMQ and in memory, the version it was stored at (the
    /// message itself is the relay's current CLR type, upcast when read). On Kafka, the version of the
    /// record's payload, which the relay writes at its current version and consumers read it by.
    /// </summary>
    public const string SchemaVersion = "Platform-Schema-Version";

    /// <summary>
    /// On RabbitMQ and in memory, the schema version of the message as sent: the relay build's
    /// current version of the event type. A consumer of a build that knows a later version reads
    /// the message as the older version's record and upcasts it; one that knows only earlier versions
    /// dead-letters it for the newer build to replay. A message without it (sent by a relay from
    /// before this header) is read as the consumer's current version. Not set on Kafka, where
    /// <see cref="SchemaVersion"/> is already the payload's version.
    /// </summary>
    public const string PayloadVersion = "Platform-Payload-Version";

    /// <summary>The stream (aggregate) id the event belongs to.</summary>
    public const string StreamId = "Platform-Stream-Id";

    /// <summary>The stream (aggregate) type.</summary>
    public const string StreamType = "Platform-Stream-Type";

    /// <summary>The event's version within its stream.</summary>
    public const string StreamVersion = "Platform-Stream-Version";

    /// <summary>The event's position in the store's global order.</summary>
    public const string GlobalPosition = "Platform-Global-Position";

    /// <summary>The correlation id of the business flow.</summary>
    public const string CorrelationId = "Platform-Correlation-Id";

    /// <summary>The id of the command or event that caused this one.</summary>
    public const string CausationId = "Platform-Causation-Id";

    /// <summary>
    /// On a command sent over the bus: the user on whose behalf it is sent, as the sender's own
    /// authentication established it. The command's events carry it (<c>$meta.userId</c>), and its
    /// conditions may compare the state with it (<c>when: { owner: $meta.userId }</c>). The relay sets
    /// it on an event written for a user, and the commands a reaction or saga step sends while
    /// handling that event carry it on.
    /// </summary>
    public const string UserId = "Platform-User-Id";

    /// <summary>
    /// On a command sent over the bus: the aggregate's version its sender read (an HTTP API's
    /// <c>If-Match</c>), as invariant text. The command runs only on that version; another is a
    /// <see cref="Platform.Commands.CommandVersionConflictException"/>, and it is not run again on the
    /// new state.
    /// </summary>
    public const string ExpectedVersion = "Platform-Expected-Version";
}
