using System.Data.Common;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

/// <summary>
/// Appends that commit together. Disposing without <see cref="CommitAsync"/> rolls back. Not
/// thread-safe: one logical operation uses it at a time.
/// </summary>
public sealed class EventStoreTransaction : IEventStoreTransaction
{
    readonly SqlEventStore _store;
    // SQLite: this process's write turn (SqliteWriteGate), passed on once the transaction has ended.
    readonly IDisposable? _writeTurn;
    bool _completed;

    internal EventStoreTransaction(SqlEventStore store, DbConnection connection, DbTransaction transaction, IDisposable? writeTurn)
    {
        _store = store;
        _writeTurn = writeTurn;
        Connection = connection;
        Transaction = transaction;
    }

    /// <summary>The open connection, to share with an EF Core context (<c>Database.SetDbConnection</c> and <c>UseTransaction</c>).</summary>
    public DbConnection Connection { get; }

    /// <summary>The database transaction the appends run in.</summary>
    public DbTransaction Transaction { get; }

    /// <inheritdoc />
    public Task<AppendResult> AppendAsync(string streamId, string streamType, ExpectedVersion expected,
        IReadOnlyList<EventData> events, CancellationToken cancellationToken = default) =>
        _store.AppendInTransactionAsync(this, streamId, streamType, expected, events, cancellationToken);

    /// <inheritdoc />
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await Transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        _completed = true;
        _writeTurn?.Dispose();
    }

    /// <inheritdoc />
    public async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        await Transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        _completed = true;
        _writeTurn?.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_completed)
                await Transaction.RollbackAsync().ConfigureAwait(false);
        }
        catch (DbException)
        {
            // The connection is already gone (killed, broken): the server rolled the transaction back itself.
        }
        catch (InvalidOperationException)
        {
            // The transaction already completed or the connection closed after a failed commit.
        }
        finally
        {
            await Transaction.DisposeAsync().ConfigureAwait(false);
            await Connection.DisposeAsync().ConfigureAwait(false);
            _writeTurn?.Dispose();
        }
    }
}
