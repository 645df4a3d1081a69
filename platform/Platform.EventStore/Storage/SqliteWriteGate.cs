using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Platform.EventStore.Storage;

/// <summary>
/// The writers of one process queue here, asynchronously and in arrival order, for a SQLite
/// database's single write lock; the lock itself still guards against other processes (the CLI).
/// </summary>
/// <remarks>
/// Without it each waiting writer blocked a thread-pool thread in SQLite's busy handler
/// (Microsoft.Data.Sqlite runs its async methods synchronously). A lock holder whose transaction
/// spans an await (a saga step, a reaction's inbox and outbox) may have its continuation queued on
/// one of those threads, which runs it only when its own wait ends: the holder then waited for the
/// waiters' busy timeout, and every writer with it (the likely cause of a 60 s stall of the Orders
/// demo under a loaded CI). One gate per database file, shared by every store on it in the process.
/// A writer already holding the gate must not ask for it again: it would wait for itself until the
/// timeout, as it would for SQLite's lock.
/// </remarks>
public sealed class SqliteWriteGate
{
    static readonly ConcurrentDictionary<string, SqliteWriteGate> Gates = new(StringComparer.Ordinal);

    readonly object _sync = new();
    readonly Queue<Waiter> _waiters = new();
    readonly string _database;
    bool _held;

    SqliteWriteGate(string database) => _database = database;

    /// <summary>The gate of the database <paramref name="connectionString"/> names.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string.</param>
    public static SqliteWriteGate For(string connectionString)
    {
        var source = new SqliteConnectionStringBuilder(connectionString).DataSource;
        var key = source.Length == 0 || source.StartsWith(':') || source.StartsWith("file:", StringComparison.Ordinal)
            ? source // an in-memory database, or a URI: one per name
            : Path.GetFullPath(source);
        return Gates.GetOrAdd(key, static k => new SqliteWriteGate(k));
    }

    /// <summary>
    /// Waits for the write turn, in arrival order; disposing the result passes it on. After
    /// <paramref name="timeout"/> it fails as SQLite does on a lock it cannot get (<c>SQLITE_BUSY</c>).
    /// </summary>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async ValueTask<IDisposable> EnterAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_sync)
        {
            if (!_held)
            {
                _held = true;
                return new Turn(this);
            }
            waiter = new Waiter();
            _waiters.Enqueue(waiter);
        }
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        await using (timer.Token.UnsafeRegister(static state => ((Waiter)state!).Cancel(), waiter).ConfigureAwait(false))
        {
            if (await waiter.Task.ConfigureAwait(false))
                return new Turn(this);
        }
        cancellationToken.ThrowIfCancellationRequested();
        throw new SqliteException($"SQLite Error 5: 'database is locked': no write turn on {_database} within {timeout.TotalSeconds:N0} s; " +
                                  "a writer of this process holds it (a long transaction, or one that waits for another writer)", 5);
    }

    // The next waiter's continuation runs on a work item of the pool's global queue, which an idle
    // thread takes at once: a continuation queued by the releasing thread would wait in that
    // thread's own queue until it finished what it was doing, with the write lock idle meanwhile.
    void Release()
    {
        Waiter? next = null;
        lock (_sync)
        {
            while (_waiters.TryDequeue(out var waiter))
            {
                if (waiter.TryGrant())
                {
                    next = waiter;
                    break;
                }
            }
            if (next is null)
                _held = false;
        }
        if (next is not null)
            ThreadPool.UnsafeQueueUserWorkItem(static waiter => waiter.Complete(), next, preferLocal: false);
    }

    sealed class Waiter
    {
        // Continuations run where the result is set: on the hand-off's work item, or the timer's.
        readonly TaskCompletionSource<bool> _result = new();
        int _state; // 0 waiting, 1 granted, 2 cancelled

        public Task<bool> Task => _result.Task;

        public bool TryGrant() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        public void Complete() => _result.TrySetResult(true);

        public void Cancel()
        {
            if (Interlocked.CompareExchange(ref _state, 2, 0) == 0)
                _result.TrySetResult(false);
        }
    }

    sealed class Turn(SqliteWriteGate gate) : IDisposable
    {
        SqliteWriteGate? _gate = gate;

        public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Release();
    }
}
