namespace Platform.Persistence;

/// <summary>
/// An append was rejected because the stream's version was not the expected one: another writer
/// got there first. Reload the aggregate and retry the command.
/// </summary>
public sealed class ConcurrencyException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="streamId">The stream that was appended to.</param>
    /// <param name="expected">What the caller expected.</param>
    /// <param name="actualVersion">The stream's version when the append was rejected.</param>
    /// <param name="innerException">The database error, when there was one.</param>
    public ConcurrencyException(string streamId, ExpectedVersion expected, long actualVersion, Exception? innerException = null)
        : base($"Stream '{streamId}' was expected at version {expected} but is at {actualVersion}.", innerException)
    {
        StreamId = streamId;
        Expected = expected;
        ActualVersion = actualVersion;
    }

    /// <summary>The stream that was appended to.</summary>
    public string StreamId { get; }

    /// <summary>What the caller expected.</summary>
    public ExpectedVersion Expected { get; }

    /// <summary>The stream's version when the append was rejected.</summary>
    public long ActualVersion { get; }
}
