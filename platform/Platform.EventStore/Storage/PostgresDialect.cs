using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using NpgsqlTypes;
using Platform.EventStore.Schema;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

sealed class PostgresDialect : StoreDialect
{
    // One statement checks the expected version and inserts all events, so an append is one round
    // trip and the unique (stream_id, stream_version) index settles races between writers.
    //
    // `pg_current_xact_id() IS NOT NULL` gives the transaction its id before the INSERT draws
    // positions from the identity sequence; the gap-free reader relies on that order (see
    // WaitForInFlightWritersAsync). It has no column reference, so PostgreSQL plans it as the
    // One-Time Filter of the Result node that feeds the rows, and that filter runs before the row
    // whose projection calls nextval() is produced (EXPLAIN VERBOSE shows nextval in the parent
    // node's output). It was a separate statement in the batch until W1 showed the extra statement
    // costing about a tenth of an append.
    const string AppendSql = """
        WITH current_version AS (
            SELECT COALESCE(
                (SELECT max(stream_version) FROM events WHERE stream_id = $1),
                (SELECT max(stream_version) FROM archived_events WHERE stream_id = $1),
                0) AS version
        ), inserted AS (
            INSERT INTO events (stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, "timestamp")
            SELECT $1, $2, v.version + e.ordinality, e.event_id, e.type_name, e.schema_version, e.data::jsonb, e.metadata::jsonb, $8
            FROM current_version v,
                 unnest($3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[])
                     WITH ORDINALITY AS e(event_id, type_name, schema_version, data, metadata, ordinality)
            WHERE ($9 < 0 OR v.version = $9) AND pg_current_xact_id() IS NOT NULL
            ORDER BY e.ordinality
            RETURNING stream_version, global_position
        )
        SELECT (SELECT version FROM current_version),
               (SELECT COALESCE(array_agg(global_position ORDER BY stream_version), '{}') FROM inserted);
        """;

    // The common command-handler case, one event: no arrays to build or unnest. Returns the new
    // version, or no row when the expected version did not match.
    const string AppendOneSql = """
        INSERT INTO events (stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, "timestamp")
        SELECT $1, $2, v.version + 1, $3, $4, $5, $6::jsonb, $7::jsonb, $8
        FROM (SELECT COALESCE(
                (SELECT max(stream_version) FROM events WHERE stream_id = $1),
                (SELECT max(stream_version) FROM archived_events WHERE stream_id = $1),
                0) AS version) v
        WHERE ($9 < 0 OR v.version = $9) AND pg_current_xact_id() IS NOT NULL
        RETURNING stream_version, global_position
        """;

    // The appends of several callers to different streams (AppendGroups), each with its own
    // expected version, in one statement: per append the stream's version, and the positions its
    // events drew (none when its expected version did not match). Rows are inserted in append and
    // event order, so positions follow the order the appends were taken. Arrays are unnested
    // through sub-selects, as in ClaimManySql, so PostgreSQL settles on one generic plan.
    internal const string AppendGroupSql = """
        WITH appends AS (
            SELECT a.n, a.stream_id, a.stream_type, a.expected, a.at,
                   COALESCE(
                       (SELECT max(stream_version) FROM events WHERE stream_id = a.stream_id),
                       (SELECT max(stream_version) FROM archived_events WHERE stream_id = a.stream_id),
                       0) AS version
            FROM unnest((SELECT $1::text[]), (SELECT $2::text[]), (SELECT $3::bigint[]), (SELECT $4::timestamptz[]))
                WITH ORDINALITY AS a(stream_id, stream_type, expected, at, n)
        ), inserted AS (
            INSERT INTO events (stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, "timestamp")
            SELECT a.stream_id, a.stream_type, a.version + e.k, e.event_id, e.type_name, e.schema_version, e.data::jsonb, e.metadata::jsonb, a.at
            FROM unnest((SELECT $5::int[]), (SELECT $6::int[]), (SELECT $7::uuid[]), (SELECT $8::text[]), (SELECT $9::int[]),
                        (SELECT $10::text[]), (SELECT $11::text[]))
                     WITH ORDINALITY AS e(n, k, event_id, type_name, schema_version, data, metadata, ordinality)
            JOIN appends a ON a.n = e.n
            WHERE (a.expected < 0 OR a.version = a.expected) AND pg_current_xact_id() IS NOT NULL
            ORDER BY e.ordinality
            RETURNING stream_id, stream_version, global_position
        )
        SELECT a.n, a.version, COALESCE(p.positions, '{}')
        FROM appends a
        LEFT JOIN (SELECT stream_id, array_agg(global_position ORDER BY stream_version) AS positions
                   FROM inserted GROUP BY stream_id) p ON p.stream_id = a.stream_id
        ORDER BY a.n
        """;

    const string CurrentVersionSql = """
        SELECT COALESCE(
            (SELECT max(stream_version) FROM events WHERE stream_id = $1),
            (SELECT max(stream_version) FROM archived_events WHERE stream_id = $1),
            0)
        """;

    // Claims for events of different streams in one statement (SqlEventStore.TryMarkProcessedInOrderAsync
    // sends a group with a stream twice one claim at a time): per event, where the consumer is in
    // its stream and the count of the stream's events between there and it, of the consumer's types
    // ($4), stored after the consumer's start for their type ($5 is the start rows' name prefix, see
    // SqlEventStore.RecordInboxStartAsync); then the consumer's row moves to each event that is
    // neither a redelivery nor missing anything. The row was read in the statement's snapshot: if
    // another transaction moved it since, the upsert waits for that one and re-checks its condition
    // on the row as committed, so a delivery running twice at once advances it once, and a
    // judgement on an older row is only stricter (everything between the newer row and the event
    // lies in the range that was found empty). The range scan goes by the stream index: OFFSET 0
    // keeps the type filter off the type index, whatever a generic plan estimates.
    //
    // The arrays are unnested through sub-selects so that a custom plan cannot see their length:
    // with plain parameters PostgreSQL's estimate for a custom plan (made for the given arrays)
    // always beat the generic plan's, so it planned the statement again for every execution, and
    // planning took 410 µs against 250 µs to run it (pg_stat_statements, runtime benchmark). Now
    // both estimates are the same, and after its five custom plans PostgreSQL keeps the generic one.
    //
    // The consumer's row is read by an aggregate, which PostgreSQL cannot pull up, so once per event:
    // as a scalar sub-select it was inlined into each of its three uses and probed three times. An
    // event right after the row (the usual case) skips the range scan: a stream's versions have no
    // holes, so nothing lies between. Together 20-30% less time per claim of four events, measured
    // with 3,000 prepared claims on a store of 30,000 three-event streams.
    internal const string ClaimManySql = """
        WITH judged AS (
            SELECT r.n, r.stream_id, r.stream_version, d.done,
                   CASE WHEN r.stream_version <= d.done + 1 THEN 0 ELSE (
                       SELECT count(*) FROM (
                           SELECT e.type_name, e.global_position FROM events e
                           WHERE e.stream_id = r.stream_id AND e.stream_version > d.done AND e.stream_version < r.stream_version OFFSET 0) e
                       WHERE e.type_name = ANY($4::text[])
                         AND e.global_position > COALESCE((SELECT c.position FROM subscription_checkpoints c WHERE c.name = $5 || e.type_name), 0))
                   END AS pending
            FROM unnest((SELECT $1::text[]), (SELECT $2::bigint[])) WITH ORDINALITY AS r(stream_id, stream_version, n)
            CROSS JOIN LATERAL (SELECT COALESCE(max(s.stream_version), 0) AS done
                FROM consumer_streams s WHERE s.consumer = $3 AND s.stream_id = r.stream_id) d
        ), advanced AS (
            INSERT INTO consumer_streams AS s (consumer, stream_id, stream_version, processed_at)
            SELECT $3, j.stream_id, j.stream_version, $6 FROM judged j
            WHERE j.stream_version > j.done AND j.pending = 0
            ORDER BY j.stream_id
            ON CONFLICT (consumer, stream_id) DO UPDATE SET stream_version = excluded.stream_version, processed_at = excluded.processed_at
            WHERE s.stream_version < excluded.stream_version
            RETURNING s.stream_id
        )
        SELECT j.n, EXISTS (SELECT 1 FROM advanced a WHERE a.stream_id = j.stream_id), j.pending
        FROM judged j
        ORDER BY j.n
        """;

    readonly NpgsqlDataSource _dataSource;
    readonly PooledDbContextFactory<PostgresEventStoreDbContext> _contexts;
    readonly AppendGroups? _appendGroups;

    public PostgresDialect(string connectionString, int concurrentAppends = 8)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        // The append and read statements are the same text every time: preparing them saves parsing and planning.
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
            builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        // The store leaves no session state behind (no temp tables, cursors, listens or session
        // settings), so the reset Npgsql would send with every reuse of a pooled connection is pure cost.
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        _dataSource = builder.Build();
        _contexts = new PooledDbContextFactory<PostgresEventStoreDbContext>(
            new DbContextOptionsBuilder<PostgresEventStoreDbContext>()
                .UseNpgsql(_dataSource)
                .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking)
                .Options);
        _appendGroups = concurrentAppends == 0 ? null : new AppendGroups(concurrentAppends, maxAppends: 64, maxEvents: 1_000,
            AppendAloneAsync, AppendTogetherAsync, exception => exception is PostgresException);
    }

    public override bool PositionsCommitInOrder => false;

    public override EventStoreDbContext CreateContext() => _contexts.CreateDbContext();

    public override DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public override async ValueTask<DbTransaction> BeginTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    public override async Task<AppendOutcome> AppendAsync(DbConnection connection, DbTransaction? transaction,
        string streamId, string streamType, ExpectedVersion expected, EncodedEvent[] events, DateTimeOffset timestamp,
        CancellationToken cancellationToken)
    {
        if (events.Length == 1)
            return await AppendOneAsync((NpgsqlConnection)connection, (NpgsqlTransaction?)transaction, streamId, streamType,
                expected, events[0], timestamp, cancellationToken).ConfigureAwait(false);

        var count = events.Length;
        var ids = new Guid[count];
        var types = new string[count];
        var versions = new int[count];
        var data = new string[count];
        var metadata = new string?[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = events[i].EventId;
            types[i] = events[i].TypeName;
            versions[i] = events[i].SchemaVersion;
            data[i] = events[i].Data;
            metadata[i] = events[i].Metadata;
        }

        await using var append = new NpgsqlCommand(AppendSql, (NpgsqlConnection)connection, (NpgsqlTransaction?)transaction);
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamType });
        append.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = types });
        append.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = versions });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = data });
        append.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = metadata, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        append.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timestamp });
        append.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expected.Value });

        await using var reader = await append.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new AppendOutcome(reader.GetInt64(0), reader.GetFieldValue<long[]>(1));
    }

    public override Task<AppendOutcome> AppendAndCommitAsync(string streamId, string streamType, ExpectedVersion expected,
        EncodedEvent[] events, DateTimeOffset timestamp, CancellationToken cancellationToken) =>
        _appendGroups is null
            ? base.AppendAndCommitAsync(streamId, streamType, expected, events, timestamp, cancellationToken)
            : _appendGroups.AppendAsync(new GroupedAppend(streamId, streamType, expected, events, timestamp), cancellationToken);

    async Task<AppendOutcome> AppendAloneAsync(GroupedAppend append, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await AppendAsync(connection, null, append.StreamId, append.StreamType, append.Expected, append.Events,
            append.Timestamp, cancellationToken).ConfigureAwait(false);
    }

    async Task<AppendOutcome[]> AppendTogetherAsync(IReadOnlyList<GroupedAppend> group, CancellationToken cancellationToken)
    {
        var streams = new string[group.Count];
        var streamTypes = new string[group.Count];
        var expected = new long[group.Count];
        var timestamps = new DateTimeOffset[group.Count];
        var count = 0;
        for (var i = 0; i < group.Count; i++)
        {
            var request = group[i];
            (streams[i], streamTypes[i], expected[i], timestamps[i]) = (request.StreamId, request.StreamType, request.Expected.Value, request.Timestamp);
            count += request.Events.Length;
        }
        var owners = new int[count];
        var offsets = new int[count];
        var ids = new Guid[count];
        var types = new string[count];
        var versions = new int[count];
        var data = new string[count];
        var metadata = new string?[count];
        var row = 0;
        for (var i = 0; i < group.Count; i++)
        {
            var events = group[i].Events;
            for (var k = 0; k < events.Length; k++, row++)
            {
                var e = events[k];
                (owners[row], offsets[row], ids[row], types[row], versions[row], data[row], metadata[row]) =
                    (i + 1, k + 1, e.EventId, e.TypeName, e.SchemaVersion, e.Data, e.Metadata);
            }
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var append = new NpgsqlCommand(AppendGroupSql, connection);
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = streams });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = streamTypes });
        append.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = expected });
        append.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = timestamps });
        append.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = owners });
        append.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = offsets });
        append.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = types });
        append.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = versions });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = data });
        append.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = metadata, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var outcomes = new AppendOutcome[group.Count];
        await using var reader = await append.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            outcomes[reader.GetInt64(0) - 1] = new AppendOutcome(reader.GetInt64(1), reader.GetFieldValue<long[]>(2));
        return outcomes;
    }

    async Task<AppendOutcome> AppendOneAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        string streamId, string streamType, ExpectedVersion expected, EncodedEvent e, DateTimeOffset timestamp,
        CancellationToken cancellationToken)
    {
        await using var append = new NpgsqlCommand(AppendOneSql, connection, transaction);
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamType });
        append.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = e.EventId });
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.TypeName });
        append.Parameters.Add(new NpgsqlParameter<int> { TypedValue = e.SchemaVersion });
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Data });
        append.Parameters.Add(new NpgsqlParameter { Value = (object?)e.Metadata ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        append.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timestamp });
        append.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expected.Value });

        await using (var reader = await append.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                return new AppendOutcome(reader.GetInt64(0) - 1, [reader.GetInt64(1)]);
        }

        // Rejected: report the version that made it so (read inside the same transaction, if any).
        await using var current = new NpgsqlCommand(CurrentVersionSql, connection, transaction);
        current.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        return new AppendOutcome((long)(await current.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!, []);
    }

    public override async Task<InboxClaim[]>? TryClaimManyAsync(DbConnection connection, DbTransaction transaction, string consumer,
        IReadOnlyList<InboxClaimRequest> events, IReadOnlyList<string> typeNames, CancellationToken cancellationToken)
    {
        var streams = new string[events.Count];
        var versions = new long[events.Count];
        for (var i = 0; i < events.Count; i++)
            (streams[i], versions[i]) = (events[i].StreamId, events[i].StreamVersion);
        await using var claim = new NpgsqlCommand(ClaimManySql, (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        claim.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = streams });
        claim.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = versions });
        claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = consumer });
        claim.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. typeNames] });
        claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SqlEventStore.InboxStartName(consumer, "") });
        claim.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = DateTimeOffset.UtcNow });
        var claims = new InboxClaim[events.Count];
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            claims[reader.GetInt64(0) - 1] = new InboxClaim(reader.GetBoolean(1), reader.GetInt64(2));
        return claims;
    }

    public override AppendFailure ClassifyAppendError(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } unique
            ? unique.ConstraintName == "ix_events_event_id" ? AppendFailure.DuplicateEventId : AppendFailure.StreamVersionTaken
            : AppendFailure.None;

    /// <summary>
    /// Takes a fence: a fresh transaction id drawn after the caller's read. A writer draws its
    /// positions only after it has a transaction id (see <see cref="AppendSql"/>), so any writer
    /// holding a position below what the read saw has an id below the fence. Once the oldest
    /// running transaction is at or past the fence, all of them have finished: committed (now
    /// visible) or rolled back (their positions stay empty forever). An aborted transaction ends
    /// when it rolls back, so this never waits on it for longer than it lives.
    /// </summary>
    public override async Task WaitForInFlightWritersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        ulong fence;
        await using (var take = new NpgsqlCommand("SELECT pg_current_xact_id()::text::bigint", connection))
            fence = (ulong)(long)(await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;

        await using var check = new NpgsqlCommand("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", connection);
        var delay = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            var oldestRunning = (ulong)(long)(await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            if (oldestRunning > fence)
                return;
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 50));
        }
    }

    public override string UpsertSnapshotSql => """
        INSERT INTO snapshots (stream_id, stream_type, stream_version, schema_fingerprint, data, "timestamp")
        VALUES ({0}, {1}, {2}, {3}, {4}::jsonb, {5})
        ON CONFLICT (stream_id) DO UPDATE SET stream_type = excluded.stream_type, stream_version = excluded.stream_version,
            schema_fingerprint = excluded.schema_fingerprint, data = excluded.data, "timestamp" = excluded."timestamp"
        WHERE snapshots.stream_version <= excluded.stream_version
        """;

    public override object TimestampParameter(DateTimeOffset value) => value.ToUniversalTime();

    public override async ValueTask DisposeAsync() => await _dataSource.DisposeAsync().ConfigureAwait(false);
}
