using System.Data.Common;
using System.Globalization;

namespace Platform.EventStore.Storage;

/// <summary>One inconsistency <see cref="SqlEventStore.VerifyAsync"/> found.</summary>
/// <param name="Check">Which check: <c>stream-versions</c>, <c>archived-twice</c>, <c>positions</c>, <c>checkpoint-ahead</c>, <c>snapshot-ahead</c>, <c>consumer-ahead</c>, <c>no-stream</c> (<see cref="SqlEventStore.VerifyStreamsAsync"/>).</param>
/// <param name="Subject">What it is about: a stream id, an event id, a checkpoint's name, a consumer and stream.</param>
/// <param name="Description">What is wrong, what it leads to, and what to do.</param>
public sealed record StoreProblem(string Check, string Subject, string Description);

/// <summary>What <see cref="SqlEventStore.VerifyAsync"/> read and found.</summary>
/// <param name="Events">Events in <c>events</c>.</param>
/// <param name="ArchivedEvents">Events in <c>archived_events</c>.</param>
/// <param name="HighestPosition">The highest global position stored (archive included), 0 when empty.</param>
/// <param name="LastAssignedPosition">The last position the database handed out (its sequence), 0 when none was.</param>
/// <param name="Problems">What is wrong, at most <see cref="SqlEventStore.ProblemsPerCheck"/> per check.</param>
public sealed record StoreVerification(long Events, long ArchivedEvents, long HighestPosition, long LastAssignedPosition,
    IReadOnlyList<StoreProblem> Problems)
{
    /// <summary>No problem found.</summary>
    public bool Consistent => Problems.Count == 0;
}

public sealed partial class SqlEventStore
{
    /// <summary>At most this many problems are reported per check.</summary>
    public const int ProblemsPerCheck = 50;

    const string AllVersions = "SELECT stream_id, stream_version FROM events UNION ALL SELECT stream_id, stream_version FROM archived_events";

    /// <summary>
    /// Checks what the store's tables promise each other, reading only: every stream's versions run
    /// from 1 without a gap or a repeat (archive included); no event is both live and archived; the
    /// database's position sequence is past every stored position; and no checkpoint, snapshot or
    /// ordered consumer's row is ahead of what is stored. Run after restoring a backup, after editing
    /// rows by hand or after a migration: a store restored to an older point than its read models'
    /// checkpoints or its consumers' rows would have them skip the next events silently. Scans every
    /// event once or twice; on a large store run it off-peak.
    /// </summary>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<StoreVerification> VerifyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var problems = new List<StoreProblem>();
        var events = await ScalarAsync(connection, "SELECT COUNT(*) FROM events", cancellationToken).ConfigureAwait(false) ?? 0;
        var archived = await ScalarAsync(connection, "SELECT COUNT(*) FROM archived_events", cancellationToken).ConfigureAwait(false) ?? 0;
        var highest = await ScalarAsync(connection,
            "SELECT MAX(p) FROM (SELECT MAX(global_position) AS p FROM events UNION ALL SELECT MAX(global_position) FROM archived_events) m",
            cancellationToken).ConfigureAwait(false) ?? 0;
        var assigned = await ScalarAsync(connection, _options.Provider == Configuration.EventStoreProvider.Postgres
            ? "SELECT pg_sequence_last_value(pg_get_serial_sequence('events', 'global_position')::regclass)"
            : "SELECT seq FROM sqlite_sequence WHERE name = 'events'", cancellationToken).ConfigureAwait(false) ?? 0;

        await CollectAsync(connection, problems, $"""
            SELECT stream_id, COUNT(*), MIN(stream_version), MAX(stream_version) FROM ({AllVersions}) v
            GROUP BY stream_id HAVING COUNT(*) <> MAX(stream_version) OR MIN(stream_version) <> 1
            ORDER BY stream_id LIMIT {ProblemsPerCheck}
            """, r => StreamVersions(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), cancellationToken).ConfigureAwait(false);

        await CollectAsync(connection, problems, $"""
            SELECT e.event_id, e.stream_id, e.stream_version FROM events e JOIN archived_events a ON a.event_id = e.event_id
            ORDER BY e.global_position LIMIT {ProblemsPerCheck}
            """, r => ArchivedTwice(ReadGuid(r, 0), r.GetString(1), r.GetInt64(2)), cancellationToken).ConfigureAwait(false);

        if (assigned < highest)
            problems.Add(new StoreProblem("positions", "events", string.Create(CultureInfo.InvariantCulture,
                $"the database last handed out position {assigned} but position {highest} is stored: the next appends collide with stored events and fail. ") +
                (_options.Provider == Configuration.EventStoreProvider.Postgres
                    ? string.Create(CultureInfo.InvariantCulture, $"Run: SELECT setval(pg_get_serial_sequence('events', 'global_position'), {highest});")
                    : string.Create(CultureInfo.InvariantCulture, $"Run: UPDATE sqlite_sequence SET seq = {highest} WHERE name = 'events';"))));

        // Checkpoints hold positions, except the inbox cleanup's cutoff (ticks).
        await CollectAsync(connection, problems, string.Create(CultureInfo.InvariantCulture, $"""
            SELECT name, position FROM subscription_checkpoints WHERE position > {Math.Max(assigned, highest)} AND name <> '{InboxForgetsBeforeName}'
            ORDER BY name LIMIT {ProblemsPerCheck}
            """), r => new StoreProblem("checkpoint-ahead", r.GetString(0), string.Create(CultureInfo.InvariantCulture,
                $"at position {r.GetInt64(1)}, past the last position stored or handed out ({Math.Max(assigned, highest)}): the next events appended get positions it has passed, and its reader skips them. The store was restored to an older point than this row? ") +
                CheckpointAdvice(r.GetString(0), Math.Max(assigned, highest))),
            cancellationToken).ConfigureAwait(false);

        await CollectAsync(connection, problems, $"""
            SELECT s.stream_id, s.stream_version, COALESCE(v.version, 0) FROM snapshots s
            LEFT JOIN (SELECT stream_id, MAX(stream_version) AS version FROM ({AllVersions}) u GROUP BY stream_id) v ON v.stream_id = s.stream_id
            WHERE s.stream_version > COALESCE(v.version, 0) ORDER BY s.stream_id LIMIT {ProblemsPerCheck}
            """, r => SnapshotAhead(r.GetString(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken).ConfigureAwait(false);

        await CollectAsync(connection, problems, $"""
            SELECT c.consumer, c.stream_id, c.stream_version, COALESCE(v.version, 0) FROM consumer_streams c
            LEFT JOIN (SELECT stream_id, MAX(stream_version) AS version FROM ({AllVersions}) u GROUP BY stream_id) v ON v.stream_id = c.stream_id
            WHERE c.stream_version > COALESCE(v.version, 0) ORDER BY c.consumer, c.stream_id LIMIT {ProblemsPerCheck}
            """, r => ConsumerAhead(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3)), cancellationToken).ConfigureAwait(false);

        return new StoreVerification(events, archived, highest, assigned, problems);
    }

    /// <summary>
    /// <see cref="VerifyAsync"/>'s checks that concern single streams, for <paramref name="streamIds"/>
    /// alone, read through the stream indexes instead of a scan of the store: their versions from 1
    /// without a gap or a repeat (archive included), no event both live and archived, no snapshot or
    /// ordered consumer's row ahead of their events; and a stream with no event at all
    /// (<c>no-stream</c>). For an incident on a few aggregates of a store too large to verify whole
    /// at that moment. The store-wide checks (positions, checkpoints) are not run; the counts and
    /// positions returned are these streams'.
    /// </summary>
    /// <param name="streamIds">The streams (aggregate ids).</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<StoreVerification> VerifyStreamsAsync(IReadOnlyCollection<string> streamIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(streamIds);
        await using var connection = await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var problems = new List<StoreProblem>();
        long events = 0, archived = 0, highest = 0;
        foreach (var stream in streamIds.Distinct(StringComparer.Ordinal))
        {
            long count = 0, min = 0, max = 0;
            await QueryAsync(connection, """
                SELECT (SELECT COUNT(*) FROM events WHERE stream_id = @stream), (SELECT COUNT(*) FROM archived_events WHERE stream_id = @stream),
                       MIN(stream_version), MAX(stream_version), MAX(global_position)
                FROM (SELECT stream_version, global_position FROM events WHERE stream_id = @stream
                      UNION ALL SELECT stream_version, global_position FROM archived_events WHERE stream_id = @stream) v
                """, stream, r =>
            {
                var (live, old) = (r.GetInt64(0), r.GetInt64(1));
                (events, archived, count) = (events + live, archived + old, live + old);
                if (count == 0)
                    return;
                (min, max) = (r.GetInt64(2), r.GetInt64(3));
                highest = Math.Max(highest, r.GetInt64(4));
            }, cancellationToken).ConfigureAwait(false);
            if (count == 0)
            {
                problems.Add(new StoreProblem("no-stream", stream, "no event of this stream is stored, live or archived: a mistyped id, or a stream lost with a restore ('platform events tail' shows the stream ids there are)."));
                continue;
            }
            if (count != max || min != 1)
                problems.Add(StreamVersions(stream, count, min, max));
            await QueryAsync(connection, """
                SELECT e.event_id, e.stream_version FROM events e JOIN archived_events a ON a.event_id = e.event_id
                WHERE e.stream_id = @stream ORDER BY e.stream_version
                """, stream, r => problems.Add(ArchivedTwice(ReadGuid(r, 0), stream, r.GetInt64(1))), cancellationToken).ConfigureAwait(false);
            await QueryAsync(connection, "SELECT stream_version FROM snapshots WHERE stream_id = @stream", stream, r =>
            {
                if (r.GetInt64(0) > max)
                    problems.Add(SnapshotAhead(stream, r.GetInt64(0), max));
            }, cancellationToken).ConfigureAwait(false);
            await QueryAsync(connection, "SELECT consumer, stream_version FROM consumer_streams WHERE stream_id = @stream ORDER BY consumer", stream, r =>
            {
                if (r.GetInt64(1) > max)
                    problems.Add(ConsumerAhead(r.GetString(0), stream, r.GetInt64(1), max));
            }, cancellationToken).ConfigureAwait(false);
        }
        var assigned = await ScalarAsync(connection, _options.Provider == Configuration.EventStoreProvider.Postgres
            ? "SELECT pg_sequence_last_value(pg_get_serial_sequence('events', 'global_position')::regclass)"
            : "SELECT seq FROM sqlite_sequence WHERE name = 'events'", cancellationToken).ConfigureAwait(false) ?? 0;
        return new StoreVerification(events, archived, highest, assigned, problems);
    }

    static StoreProblem StreamVersions(string stream, long count, long min, long max) =>
        new("stream-versions", stream, string.Create(CultureInfo.InvariantCulture, $"{count} event(s) with versions {min} to {max}: ") + (count < max || min > 1
            ? "versions are missing, so events of the stream were lost or deleted; restore them from a backup (loading the aggregate still works, but its history is incomplete)."
            : "a version is stored twice (live and archived); keep the archived copy and delete the live one, or restore the stream."));

    static StoreProblem ArchivedTwice(Guid eventId, string stream, long version) =>
        new("archived-twice", eventId.ToString("D"), string.Create(CultureInfo.InvariantCulture,
            $"the event (stream {stream} v{version}) is in events and in archived_events; an archive or restore was interrupted outside its transaction, or a command ran again after its stream was archived. Delete one copy."));

    static StoreProblem SnapshotAhead(string stream, long snapshot, long events) =>
        new("snapshot-ahead", stream, string.Create(CultureInfo.InvariantCulture,
            $"the snapshot is at version {snapshot} but the stream's events end at {events}: loads would start from state the events no longer hold. Delete the snapshot row; the next load replays the events."));

    static StoreProblem ConsumerAhead(string consumer, string stream, long processed, long events) =>
        new("consumer-ahead", consumer + " " + stream, string.Create(CultureInfo.InvariantCulture,
            $"the consumer has processed the stream up to version {processed} but its events end at {events}: it would take the stream's next events for redeliveries and skip them. Its effects include events the store lost; correct them, then set the row to {events}."));

    static async Task QueryAsync(DbConnection connection, string sql, string stream, Action<DbDataReader> row, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        (parameter.ParameterName, parameter.Value) = ("stream", stream);
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            row(reader);
    }

    static string CheckpointAdvice(string name, long last) =>
        name == "outbox"
            ? string.Create(CultureInfo.InvariantCulture, $"Run: platform relay republish --from-position {last + 1}")
            : name.StartsWith("projection:", StringComparison.Ordinal)
                ? $"Run: platform projections rebuild {name["projection:".Length..]}"
                : string.Create(CultureInfo.InvariantCulture, $"Set it to {last} or below.");

    static async Task<long?> ScalarAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? null : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    static async Task CollectAsync(DbConnection connection, List<StoreProblem> problems, string sql, Func<DbDataReader, StoreProblem> problem,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            problems.Add(problem(reader));
    }

    static Guid ReadGuid(DbDataReader reader, int ordinal) =>
        reader.GetFieldType(ordinal) == typeof(Guid) ? reader.GetGuid(ordinal) : Guid.Parse(reader.GetString(ordinal));
}
