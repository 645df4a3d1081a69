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
    public async Task<AllEventsPage> ReadAllAsync(long afterPosition, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterPosition);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);

        var rows = await ReadRowsAfterAsync(afterPosition, maxCount, cancellationToken).ConfigureAwait(false);
        var settledBelow = afterPosition + 1;
        if (!_dialect.PositionsCommitInOrder && rows.Count > 0 && rows[0].GlobalPosition != afterPosition + 1)
        {
            // The page starts at a gap: wait out the writers that might still fill it, then read again.
            settledBelow = rows[0].GlobalPosition;
            await _dialect.WaitForInFlightWritersAsync(cancellationToken).ConfigureAwait(false);
            rows = await ReadRowsAfterAsync(afterPosition, maxCount, cancellationToken).ConfigureAwait(false);
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

    async Task<List<EventRecord>> ReadRowsAfterAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        await using var context = _dialect.CreateContext();
        return await _dialect.ReadAllQuery(context, afterPosition, maxCount).ToListAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// The read-all query compiled once per model: a compiled query is bound to the model it was
/// first run with, and the PostgreSQL and SQLite contexts have different models.
/// </summary>
static class CompiledQueries<TContext> where TContext : EventStoreDbContext
{
    public static readonly Func<TContext, long, int, IAsyncEnumerable<EventRecord>> ReadAll =
        EF.CompileAsyncQuery((TContext context, long after, int max) =>
            context.Events.Where(e => e.GlobalPosition > after).OrderBy(e => e.GlobalPosition).Take(max));
}
