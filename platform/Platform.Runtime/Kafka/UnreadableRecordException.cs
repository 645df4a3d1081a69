namespace Platform.Runtime.Kafka;

/// <summary>
/// Why a Kafka record was dead-lettered without reaching its consumer: its headers name a stored
/// event type or message type the endpoint consumes, but its payload is not one (a payload the
/// event's deserializer refuses, a schema version it has no upcaster for, a message that is not
/// its type in JSON), or its packed <c>Platform-Event</c> header is not a JSON object of strings, so
/// no type can be read for it at all. The message says which record; the inner exception, if any,
/// what the reader said.
/// </summary>
public sealed class UnreadableRecordException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UnreadableRecordException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which record, and why.</param>
    public UnreadableRecordException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which record, and why.</param>
    /// <param name="innerException">What the reader threw.</param>
    public UnreadableRecordException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
