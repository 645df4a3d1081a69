using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Platform.EventStore.Schema;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

sealed class SqliteDialect : StoreDialect
{
    const int EventsPerStatement = 500;
    const string CurrentVersionSql = """
        SELECT COALESCE(
            (SELECT max(stream_version) FROM events WHERE stream_id = $stream),
            (SELECT max(stream_version) FROM archived_events WHERE stream_id = $stream),
            0)
        """;

    static readonly ConcurrentDictionary<int, string> InsertSql = new();

    readonly string _connectionString;
    readonly PooledDbContextFactory<SqliteEventStoreDbContext> _contexts;

    public SqliteDialect(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        // Writers queue on SQLite's single write lock; a generous timeout makes them wait rather than fail.
        if (builder.DefaultTimeout < 60)
            builder.DefaultTimeout = 60;
        _connectionString = builder.ToString();
        _pragmas = new ConnectionPragmas(builder.DefaultTimeout * 1000);
        _gate = SqliteWriteGate.For(_connectionString);
        _gateTimeout = TimeSpan.FromSeconds(builder.DefaultTimeout);
        _contexts = new PooledDbContextFactory<SqliteEventStoreDbContext>(
            new DbContextOptionsBuilder<SqliteEventStoreDbContext>()
                .UseSqlite(_connectionString)
                .AddInterceptors(_pragmas)
                .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking)
                .Options);
    }

    readonly ConnectionPragmas _pragmas;
    readonly SqliteWriteGate _gate;
    readonly TimeSpan _gateTimeout;

    // Run on every connection the store opens, its own (OpenConnectionAsync) and EF Core's. WAL lets
    // readers run beside the writer; NORMAL is durable against process crashes in WAL mode.
    // busy_timeout: Microsoft.Data.Sqlite meets a locked database by sleeping 150 ms and trying
    // again, however soon the lock is free, so every collision of two writers (commands, relay,
    // consumers, projections all write) cost 150 ms; SQLite's own busy handler, which busy_timeout
    // turns on, retries after 1, 2, 5, 10 ms and so on (a writer waiting for a 20 ms transaction got
    // the lock after 21-35 ms instead of 150-155 ms).
    sealed class ConnectionPragmas(int busyTimeoutMilliseconds) : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor
    {
        readonly string _sql = $"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={busyTimeoutMilliseconds};";

        public override void ConnectionOpened(DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData)
        {
            using var pragma = connection.CreateCommand();
            pragma.CommandText = _sql;
            pragma.ExecuteNonQuery();
        }

        public override Task ConnectionOpenedAsync(DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData,
            CancellationToken cancellationToken = default) => ApplyAsync(connection, cancellationToken);

        public async Task ApplyAsync(DbConnection connection, CancellationToken cancellationToken)
        {
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = _sql;
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override bool PositionsCommitInOrder => true;

    public override EventStoreDbContext CreateContext() => _contexts.CreateDbContext();

    public override DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal) => new(reader.GetInt64(ordinal), TimeSpan.Zero);

    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await _pragmas.ApplyAsync(connection, cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public override async ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken) =>
        await _gate.EnterAsync(_gateTimeout, cancellationToken).ConfigureAwait(false);

    public override ValueTask<DbTransaction> BeginTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // IMMEDIATE: take the write lock up front, so the version check and the insert see the same stream.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override async Task<AppendOutcome> AppendAsync(DbConnection connection, DbTransaction? transaction,
        string streamId, string streamType, ExpectedVersion expected, EncodedEvent[] events, DateTimeOffset timestamp,
        CancellationToken cancellationToken)
    {
        var own = transaction is null;
        using var turn = own ? await EnterWriteAsync(cancellationToken).ConfigureAwait(false) : null;
        var tx = (SqliteTransaction)(transaction ?? await BeginTransactionAsync(connection, cancellationToken).ConfigureAwait(false));
        try
        {
            long current;
            await using (var read = connection.CreateCommand())
            {
                read.Transaction = tx;
                read.CommandText = CurrentVersionSql;
                read.Parameters.Add(new SqliteParameter("$stream", streamId));
                current = (long)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }
            if (!expected.IsSatisfiedBy(current))
                return new AppendOutcome(current, []);

            var ticks = timestamp.UtcTicks;
            var positions = new long[events.Length];
            for (var start = 0; start < events.Length; start += EventsPerStatement)
            {
                var count = Math.Min(EventsPerStatement, events.Length - start);
                await using var insert = connection.CreateCommand();
                insert.Transaction = tx;
                insert.CommandText = InsertSql.GetOrAdd(count, BuildInsert);
                insert.Parameters.Add(new SqliteParameter("$s", streamId));
                insert.Parameters.Add(new SqliteParameter("$t", streamType));
                insert.Parameters.Add(new SqliteParameter("$ts", ticks));
                for (var i = 0; i < count; i++)
                {
                    var e = events[start + i];
                    insert.Parameters.Add(new SqliteParameter("$v" + i, current + start + i + 1));
                    insert.Parameters.Add(new SqliteParameter("$i" + i, SqliteGuid(e.EventId)));
                    insert.Parameters.Add(new SqliteParameter("$n" + i, e.TypeName));
                    insert.Parameters.Add(new SqliteParameter("$sv" + i, e.SchemaVersion));
                    insert.Parameters.Add(new SqliteParameter("$d" + i, e.Data));
                    insert.Parameters.Add(new SqliteParameter("$m" + i, (object?)e.Metadata ?? DBNull.Value));
                }
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                // One writer holds the write lock, so the rows of one INSERT got consecutive rowids ending here.
                await using var last = connection.CreateCommand();
                last.Transaction = tx;
                last.CommandText = "SELECT last_insert_rowid()";
                var lastPosition = (long)(await last.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                for (var i = 0; i < count; i++)
                    positions[start + i] = lastPosition - count + 1 + i;
            }
            if (own)
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new AppendOutcome(current, positions);
        }
        finally
        {
            if (own)
                await tx.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>EF Core stores a Guid on SQLite as upper-case text; raw writes must match or EF's lookups miss.</summary>
    internal static string SqliteGuid(Guid id) => id.ToString("D").ToUpperInvariant();

    static string BuildInsert(int count)
    {
        var sql = new StringBuilder(
            "INSERT INTO events (stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, \"timestamp\") VALUES ");
        for (var i = 0; i < count; i++)
        {
            if (i > 0) sql.Append(',');
            sql.Append($"($s,$t,$v{i},$i{i},$n{i},$sv{i},$d{i},$m{i},$ts)");
        }
        return sql.ToString();
    }

    public override AppendFailure ClassifyAppendError(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 19 } constraint
            ? constraint.Message.Contains("events.event_id", StringComparison.Ordinal)
                ? AppendFailure.DuplicateEventId
                : AppendFailure.StreamVersionTaken
            : AppendFailure.None;

    public override Task WaitForInFlightWritersAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override string UpsertSnapshotSql => """
        INSERT INTO snapshots (stream_id, stream_type, stream_version, schema_fingerprint, data, "timestamp")
        VALUES ({0}, {1}, {2}, {3}, {4}, {5})
        ON CONFLICT (stream_id) DO UPDATE SET stream_type = excluded.stream_type, stream_version = excluded.stream_version,
            schema_fingerprint = excluded.schema_fingerprint, data = excluded.data, "timestamp" = excluded."timestamp"
        WHERE snapshots.stream_version <= excluded.stream_version
        """;

    public override object TimestampParameter(DateTimeOffset value) => value.UtcTicks;

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }
}
