namespace Platform.Persistence;

/// <summary>
/// An append carried an event id that is already stored in another place (another stream or
/// another version), so storing it would duplicate the event. An append whose events are all
/// already stored in the same places is not an error: it is treated as a retry and succeeds.
/// </summary>
public sealed class DuplicateEventException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream that was appended to.</param>
    /// <param name="innerException">The database error.</param>
    public DuplicateEventException(string streamId, Exception? innerException = null)
        : base($"An event appended to stream '{streamId}' has an id that is already stored elsewhere.", innerException) =>
        StreamId = streamId;

    /// <summary>The stream that was appended to.</summary>
    public string StreamId { get; }
}
