using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Schema;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    /// <summary>
    /// Reads the next page of all events in global order, never skipping an event that commits late.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Positions come from an identity sequence, drawn when a transaction inserts, so on
    /// PostgreSQL transactions commit out of position order: position 11 may be visible while 10
    /// is still in flight, and 10 may also never appear (rolled back, or archived). A reader
    /// therefore only passes a missing position once it is settled.
    /// </para>
    /// <para>
    /// The mechanism: the page returns events while positions are contiguous. At the first
    /// missing position it stops; if nothing came before the gap, it takes a fence (a new
    /// transaction id, drawn after the read) and waits until no transaction older than the fence
    /// is running. Every writer takes its transaction id before it draws positions, so a writer
    /// holding a missing position is older than the fence; after the wait it has committed (and
    /// the re-read sees its events) or rolled back (and its positions stay empty forever), so the
    /// reader can pass every position below the first one it saw beyond the gap. The wait lasts as
    /// long as the longest transaction that was running, and no longer: an aborted transaction
    /// ends the wait when it ends.
    /// </para>
    /// <para>
    /// On SQLite one writer holds the write lock from drawing its positions to its commit, so
    /// positions commit in order and no gap handling is needed.
    /// </para>
    /// </remarks>
    public Task<AllEventsPage> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default) =>
        ReadAllAsync(afterPosition, maxCount, includeArchived: false, cancellationToken);

    /// <summary>
    /// Reads the next page of all events in global order, as <see cref="ReadAllAsync(long, int, CancellationToken)"/>,
    /// with the archived events among them at their positions when <paramref name="includeArchived"/>:
    /// what projections read, so that a rebuild, or a projection added later, sees the whole history.
    /// The outbox relay reads without them (events are archived only once published).
    /// </summary>
    /// <param name="afterPosition">The position read up to (0 from the start).</param>
    /// <param name="maxCount">At most this many events.</param>
    /// <param name="includeArchived">Merge in <c>archived_events</c>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<AllEventsPage> ReadAllAsync(long afterPosition, int maxCount, bool includeArchived, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterPosition);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);

        var rows = await ReadRowsAfterAsync(afterPosition, maxCount, includeArchived, cancellationToken).ConfigureAwait(false);
        var settledBelow = afterPosition + 1;
        if (!_dialect.PositionsCommitInOrder && rows.Count > 0 && rows[0].GlobalPosition != afterPosition + 1)
        {
            // The page starts at a gap: wait out the writers that might still fill it, then read again.
            settledBelow = rows[0].GlobalPosition;
            await _dialect.WaitForInFlightWritersAsync(cancellationToken).ConfigureAwait(false);
            rows = await ReadRowsAfterAsync(afterPosition, maxCount, includeArchived, cancellationToken).ConfigureAwait(false);
        }

        var events = new List<EventEnvelope>(rows.Count);
        var next = afterPosition;
        var stoppedAtGap = false;
        foreach (var row in rows)
        {
            var position = row.GlobalPosition;
            if (!_dialect.PositionsCommitInOrder && position != next + 1 && position > settledBelow)
            {
                stoppedAtGap = true;
                break;
            }
            var envelope = await ToEnvelopeAsync(row, cancellationToken).ConfigureAwait(false);
            if (envelope is not null)
                events.Add(envelope);
            next = position;
        }
        if (next < settledBelow - 1)
            next = settledBelow - 1;
        return new AllEventsPage(events, next, ReachedEnd: !stoppedAtGap && rows.Count < maxCount);
    }

    /// <summary>
    /// Hand-written SQL and a data reader on the EF Core context's connection: the benchmark's W4
    /// (read everything in order) showed EF's materialization costing more than the rest of the
    /// read; the columns and their order match <c>Schema/EventsTable.cs</c>.
    /// </summary>
    /// <remarks>
    /// With the archive, one statement reads both tables (an archive move committing between two
    /// reads could hide an event from both), each through its primary key with its own limit, and
    /// sorts at most twice the page: a plain <c>UNION ALL ... ORDER BY ... LIMIT</c> led PostgreSQL to
    /// scan and sort every row after the position.
    /// </remarks>
    async Task<List<EventRecord>> ReadRowsAfterAsync(long afterPosition, int maxCount, bool includeArchived, CancellationToken cancellationToken)
    {
        await using var context = _dialect.CreateContext();
        var connection = context.Database.GetDbConnection();
        await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = includeArchived
            ? $"""
              SELECT {Columns} FROM (
                  SELECT * FROM (SELECT {Columns} FROM events WHERE global_position > @after ORDER BY global_position LIMIT @max) l
                  UNION ALL
                  SELECT * FROM (SELECT {Columns} FROM archived_events WHERE global_position > @after ORDER BY global_position LIMIT @max) a
              ) e ORDER BY global_position LIMIT @max
              """
            : $"SELECT {Columns} FROM events WHERE global_position > @after ORDER BY global_position LIMIT @max";
        AddParameter(command, "after", afterPosition);
        AddParameter(command, "max", maxCount);
        var rows = new List<EventRecord>(Math.Min(maxCount, 4096));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new EventRecord
            {
                GlobalPosition = reader.GetInt64(0),
                StreamId = reader.GetString(1),
                StreamType = reader.GetString(2),
                StreamVersion = reader.GetInt64(3),
                EventId = reader.GetGuid(4),
                TypeName = reader.GetString(5),
                SchemaVersion = reader.GetInt32(6),
                Data = reader.GetString(7),
                Metadata = reader.IsDBNull(8) ? null : reader.GetString(8),
                Timestamp = _dialect.ReadTimestamp(reader, 9),
            });
        }
        return rows;
    }
}
