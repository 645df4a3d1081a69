namespace Platform.Runtime.Consumers;

/// <summary>
/// An event arrived before an earlier event of its stream that the same consumer handles was
/// committed. The runtime retries it after a short delay (outside the partition, so the earlier
/// event can go first); it never runs out of order.
/// </summary>
public sealed class OutOfOrderEventException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="consumer">The consumer.</param>
    /// <param name="streamId">The stream.</param>
    /// <param name="streamVersion">The version that arrived early.</param>
    /// <param name="pending">How many earlier events of the stream the consumer has not committed yet.</param>
    public OutOfOrderEventException(string consumer, string streamId, long streamVersion, long pending)
        : base($"{consumer} received version {streamVersion} of stream '{streamId}' before {pending} earlier event(s) of it; it will be retried.")
    {
        StreamId = streamId;
        StreamVersion = streamVersion;
    }

    /// <summary>The stream.</summary>
    public string StreamId { get; }

    /// <summary>The version that arrived early.</summary>
    public long StreamVersion { get; }
}
