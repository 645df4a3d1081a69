using Platform.Events;

namespace Platform.Persistence;

/// <summary>
/// The event store: append-only streams with optimistic concurrency, and reads by stream, by type
/// and of everything in global order. Implementations are thread-safe singletons.
/// </summary>
public interface IEventStore
{
    /// <summary>Appends events to one stream, atomically.</summary>
    /// <param name="streamId">The stream (aggregate id).</param>
    /// <param name="streamType">The stream's type (aggregate type).</param>
    /// <param name="expected">The version the stream must be at.</param>
    /// <param name="events">The events, in order.</param>
    /// <param name="cancellationToken">Cancels the append; a cancelled append stores nothing.</param>
    /// <exception cref="ConcurrencyException">The stream was not at <paramref name="expected"/>.</exception>
    Task<AppendResult> AppendAsync(string streamId, string streamType, ExpectedVersion expected,
        IReadOnlyList<EventData> events, CancellationToken cancellationToken = default);

    /// <summary>Appends to several streams in one transaction: all of them or none.</summary>
    /// <param name="appends">One entry per stream.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <exception cref="ConcurrencyException">One of the streams was not at its expected version; nothing was stored.</exception>
    Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<StreamAppend> appends, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a transaction in which several appends (and the caller's own work on the same
    /// connection, where the implementation exposes it) commit together.
    /// </summary>
    /// <param name="cancellationToken">Cancels opening the transaction.</param>
    Task<IEventStoreTransaction> BeginTransactionAsync(CancellationToken cancellationToken = default);

    /// <summary>Reads one stream.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="fromVersion">First version to return (forwards) or the highest (backwards); <see cref="long.MaxValue"/> reads backwards from the end.</param>
    /// <param name="direction">Which way to read.</param>
    /// <param name="maxCount">At most this many events.</param>
    /// <param name="includeArchived">Also return events that were archived.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion = 1,
        ReadDirection direction = ReadDirection.Forwards, int maxCount = int.MaxValue, bool includeArchived = false,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the next page of all events after <paramref name="afterPosition"/>, in global order.
    /// A reader that continues from <see cref="AllEventsPage.NextPosition"/> sees every committed
    /// event exactly once, even when transactions commit out of position order.
    /// </summary>
    /// <param name="afterPosition">The last checkpoint (0 to start from the beginning).</param>
    /// <param name="maxCount">At most this many events.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<AllEventsPage> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>Reads events of one type appended at or after a time, in global order.</summary>
    /// <param name="typeName">The stored type name.</param>
    /// <param name="since">Earliest append time.</param>
    /// <param name="maxCount">At most this many events.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    IAsyncEnumerable<EventEnvelope> ReadByTypeAsync(string typeName, DateTimeOffset since, int maxCount = int.MaxValue,
        CancellationToken cancellationToken = default);

    /// <summary>The stream's current version, 0 when it has no events.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<long> GetStreamVersionAsync(string streamId, CancellationToken cancellationToken = default);

    /// <summary>The highest global position committed so far (0 for an empty store).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    Task<long> GetHeadPositionAsync(CancellationToken cancellationToken = default);
}

/// <summary>Appends that commit together, or not at all when disposed without <see cref="CommitAsync"/>.</summary>
public interface IEventStoreTransaction : IAsyncDisposable
{
    /// <summary>Appends events to one stream inside this transaction.</summary>
    /// <param name="streamId">The stream.</param>
    /// <param name="streamType">The stream's type.</param>
    /// <param name="expected">The version the stream must be at.</param>
    /// <param name="events">The events, in order.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    /// <exception cref="ConcurrencyException">The stream was not at <paramref name="expected"/>; the transaction can only be rolled back.</exception>
    Task<AppendResult> AppendAsync(string streamId, string streamType, ExpectedVersion expected,
        IReadOnlyList<EventData> events, CancellationToken cancellationToken = default);

    /// <summary>Commits every append of this transaction.</summary>
    /// <param name="cancellationToken">Cancels the commit.</param>
    Task CommitAsync(CancellationToken cancellationToken = default);

    /// <summary>Discards every append of this transaction.</summary>
    /// <param name="cancellationToken">Cancels the rollback.</param>
    Task RollbackAsync(CancellationToken cancellationToken = default);
}
