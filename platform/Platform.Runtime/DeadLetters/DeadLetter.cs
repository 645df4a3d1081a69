namespace Platform.Runtime.DeadLetters;

/// <summary>What an operator may do with a dead letter next.</summary>
public enum DeadLetterState
{
    /// <summary>Failed after its retries; waiting for an operator.</summary>
    Dead,

    /// <summary>An operator asked for a replay; the runtime re-sends it to its endpoint and removes the row.</summary>
    ReplayRequested,

    /// <summary>An operator discarded it; kept with the reason, never delivered again.</summary>
    Discarded,
}

/// <summary>
/// A message a consumer could not process after its retries, as stored in <c>message_dead_letters</c>:
/// enough to see why (the exception) and to deliver it again (type, payload, headers, endpoint).
/// </summary>
/// <param name="Id">The dead letter's id.</param>
/// <param name="Consumer">The consumer (event consumer type, or <c>commands</c>).</param>
/// <param name="Endpoint">The queue it was received on, and is replayed to.</param>
/// <param name="MessageId">MassTransit's message id (the event id for stored events).</param>
/// <param name="MessageType">The CLR type the payload deserializes to (assembly-qualified).</param>
/// <param name="EventType">The stored event type name, for events.</param>
/// <param name="StreamId">The stream (aggregate), for events.</param>
/// <param name="StreamVersion">The event's version in its stream.</param>
/// <param name="GlobalPosition">The event's global position.</param>
/// <param name="Headers">The message headers as JSON (string values), re-sent on replay.</param>
/// <param name="Payload">The message as JSON.</param>
/// <param name="ExceptionType">The last exception's type.</param>
/// <param name="ExceptionMessage">The last exception's message.</param>
/// <param name="ExceptionDetail">The last exception with its stack trace and inner exceptions.</param>
/// <param name="Attempts">How many times the consumer ran it (order-guard retries not counted).</param>
/// <param name="FailedAt">When it was dead-lettered (UTC).</param>
/// <param name="State">Dead, replay requested or discarded.</param>
/// <param name="DiscardReason">Why an operator discarded it.</param>
public sealed record DeadLetter(Guid Id, string Consumer, string Endpoint, string? MessageId, string MessageType,
    string? EventType, string? StreamId, long? StreamVersion, long? GlobalPosition, string Headers, string Payload,
    string ExceptionType, string ExceptionMessage, string ExceptionDetail, int Attempts, DateTimeOffset FailedAt,
    DeadLetterState State, string? DiscardReason)
{
    /// <summary>
    /// The <see cref="MessageType"/> of a message whose type could not be read at all (a body that is
    /// not a MassTransit envelope, a Kafka record whose packed headers are malformed). Such a letter is
    /// there to be seen and discarded: replaying it only makes it Dead again.
    /// </summary>
    public const string UnknownMessageType = "unknown";
}

/// <summary>A stream's dead letters of one kind at one consumer and endpoint, and the earliest one's version.</summary>
sealed record DeadLetterStream(string Consumer, string Endpoint, string StreamId, long FirstVersion);

/// <summary>What identifies a dead letter and its event, without its payload and stack; <see cref="Headers"/> only when asked for.</summary>
sealed record DeadLetterHead(Guid Id, string Endpoint, string? EventType, string? StreamId, long? StreamVersion, string? Headers);

/// <summary>An endpoint's letters that are not discarded: how many are Dead, how many wait for a replay, and when the oldest failed.</summary>
/// <param name="Endpoint">The queue the letters failed on.</param>
/// <param name="Dead">Letters in state Dead.</param>
/// <param name="ReplayRequested">Letters asked to be replayed that no runtime has sent yet.</param>
/// <param name="OldestFailedAt">When the oldest of them failed.</param>
public sealed record DeadLetterCount(string Endpoint, long Dead, long ReplayRequested, DateTimeOffset OldestFailedAt);
