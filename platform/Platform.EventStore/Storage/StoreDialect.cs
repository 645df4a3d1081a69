using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Schema;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

/// <summary>An event ready to be written: serialized, with its type resolved.</summary>
readonly record struct EncodedEvent(Guid EventId, string TypeName, int SchemaVersion, string Data, string? Metadata);

/// <summary>What an append did: the stream version before it and the global positions it drew, in event order (empty when rejected).</summary>
readonly record struct AppendOutcome(long VersionBefore, long[] Positions)
{
    public int Written => Positions.Length;
}

/// <summary>What the store does differently per database: connections, the append statement, errors, ordering.</summary>
abstract class StoreDialect : IAsyncDisposable
{
    /// <summary>
    /// True when transactions commit in global-position order by construction (SQLite has one
    /// writer at a time), so a catch-up reader needs no gap handling.
    /// </summary>
    public abstract bool PositionsCommitInOrder { get; }

    public abstract EventStoreDbContext CreateContext();

    /// <summary>Reads the <c>timestamp</c> column as EF Core stores it on this database.</summary>
    public abstract DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal);

    public abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    public abstract ValueTask<DbTransaction> BeginTransactionAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// Waits for this process's turn to write where the database has one writer at a time (SQLite,
    /// <see cref="SqliteWriteGate"/>); null where writers run side by side. Taken before a write
    /// transaction or statement on a connection of its own, and disposed once it has ended.
    /// </summary>
    public virtual ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IDisposable?>(null);

    /// <summary>
    /// Appends to one stream, checking the expected version, on <paramref name="transaction"/> or
    /// (when null) atomically on its own. Writes nothing when the version did not match.
    /// </summary>
    public abstract Task<AppendOutcome> AppendAsync(DbConnection connection, DbTransaction? transaction,
        string streamId, string streamType, ExpectedVersion expected, EncodedEvent[] events, DateTimeOffset timestamp,
        CancellationToken cancellationToken);

    /// <summary>
    /// Appends to one stream in a transaction of its own and commits; the same answers as
    /// <see cref="AppendAsync"/>. A dialect may write appends of concurrent callers together.
    /// </summary>
    public virtual async Task<AppendOutcome> AppendAndCommitAsync(string streamId, string streamType, ExpectedVersion expected,
        EncodedEvent[] events, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await AppendAsync(connection, null, streamId, streamType, expected, events, timestamp, cancellationToken).ConfigureAwait(false);
    }

    public abstract AppendFailure ClassifyAppendError(Exception exception);

    /// <summary>
    /// Waits until every transaction that could still commit an event below the positions seen by
    /// an earlier read has finished, committed or rolled back.
    /// </summary>
    public abstract Task WaitForInFlightWritersAsync(CancellationToken cancellationToken);

    /// <summary>Insert-or-replace of the latest snapshot, newer versions winning.</summary>
    public abstract string UpsertSnapshotSql { get; }

    /// <summary>
    /// Claims events of different streams for an ordered consumer in one statement (order guards
    /// and the consumer's rows in <c>consumer_streams</c>); null when the dialect has no such
    /// statement and the caller claims them one by one.
    /// </summary>
    public virtual Task<InboxClaim[]>? TryClaimManyAsync(DbConnection connection, DbTransaction transaction, string consumer,
        IReadOnlyList<InboxClaimRequest> events, IReadOnlyList<string> typeNames, CancellationToken cancellationToken) => null;

    public abstract object TimestampParameter(DateTimeOffset value);

    public abstract ValueTask DisposeAsync();
}

enum AppendFailure
{
    None,
    StreamVersionTaken,
    DuplicateEventId,
}
