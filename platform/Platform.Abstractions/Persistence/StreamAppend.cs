using Platform.Events;

namespace Platform.Persistence;

/// <summary>Events to append to one stream, with the version the caller expects the stream to be at.</summary>
/// <param name="StreamId">The stream (aggregate id).</param>
/// <param name="StreamType">The stream's type (aggregate type); stored with every event.</param>
/// <param name="Expected">The version the stream must be at.</param>
/// <param name="Events">The events, in order.</param>
public sealed record StreamAppend(string StreamId, string StreamType, ExpectedVersion Expected, IReadOnlyList<EventData> Events);

/// <summary>The outcome of an append to one stream.</summary>
/// <param name="StreamId">The stream.</param>
/// <param name="NextExpectedVersion">The stream's version after the append; pass it as the next expected version.</param>
/// <param name="Appended">How many events were stored (events whose id was already stored are not stored again).</param>
public readonly record struct AppendResult(string StreamId, long NextExpectedVersion, int Appended);

/// <summary>Which way a stream is read.</summary>
public enum ReadDirection
{
    /// <summary>From the given version upwards.</summary>
    Forwards,

    /// <summary>From the given version downwards.</summary>
    Backwards,
}

/// <summary>One page of a read of all events in global order.</summary>
/// <param name="Events">The events, in increasing global position.</param>
/// <param name="NextPosition">
/// The checkpoint to pass to the next read. It may be past the last event's position when the page
/// ended on positions that will never hold an event (rolled-back or archived ones).
/// </param>
/// <param name="ReachedEnd">True when no committed event after <see cref="NextPosition"/> was visible.</param>
public sealed record AllEventsPage(IReadOnlyList<EventEnvelope> Events, long NextPosition, bool ReachedEnd);
