using Microsoft.EntityFrameworkCore;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    /// <summary>
    /// The <c>subscription_checkpoints</c> row whose position holds, as UTC ticks, the latest cutoff
    /// <see cref="DeleteProcessedMessagesAsync"/> was called with: message inbox rows recorded before
    /// it may be gone, so a message redelivered from before it may run again.
    /// </summary>
    public const string InboxForgetsBeforeName = "inbox:forgets-before";

    /// <summary>
    /// Moves a named reader's position from <paramref name="expected"/> to <paramref name="position"/>,
    /// unless something else moved it since the reader read it: an operator's rewind
    /// (<c>platform relay republish</c>) or another instance. Returns false then, and changes nothing;
    /// the reader reads the checkpoint again. A reader without a row yet gets one.
    /// </summary>
    /// <param name="name">The reader's name.</param>
    /// <param name="expected">The position the reader read and worked from.</param>
    /// <param name="position">The position it has now fully processed.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<bool> TryMoveCheckpointAsync(string name, long expected, long position, CancellationToken cancellationToken = default)
    {
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var context = _dialect.CreateContext();
        return await context.Database.ExecuteSqlRawAsync(
            """
            INSERT INTO subscription_checkpoints (name, position, updated_at) VALUES ({0}, {1}, {2})
            ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            WHERE subscription_checkpoints.position = {3}
            """,
            [name, position, _dialect.TimestampParameter(DateTimeOffset.UtcNow), expected], cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Deletes a named checkpoint (a flag such as a parked projection's); false when there was none.</summary>
    /// <param name="name">The checkpoint's name.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task<bool> DeleteCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var context = _dialect.CreateContext();
        return await context.SubscriptionCheckpoints.Where(c => c.Name == name).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>
    /// Before when message inbox rows may have been deleted (<see cref="InboxForgetsBeforeName"/>), or
    /// null when no row ever was. An event stored at or after it cannot have lost its rows: it was
    /// processed after it was stored.
    /// </summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<DateTimeOffset?> GetInboxForgetsBeforeAsync(CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        var ticks = await context.SubscriptionCheckpoints.Where(c => c.Name == InboxForgetsBeforeName).Select(c => (long?)c.Position)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return ticks is { } value ? new DateTimeOffset(value, TimeSpan.Zero) : null;
    }

    /// <summary>The position of the first event (not archived) stored at or after <paramref name="time"/>, or null when there is none.</summary>
    /// <param name="time">The moment.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long?> FirstPositionAtOrAfterAsync(DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        return await context.Events.Where(e => e.Timestamp >= time).MinAsync(e => (long?)e.GlobalPosition, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many archived events lie after <paramref name="after"/> and up to <paramref name="upTo"/> (the relay does not read them).</summary>
    /// <param name="after">The position before the range.</param>
    /// <param name="upTo">The last position of the range.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> CountArchivedEventsAsync(long after, long upTo, CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        return await context.ArchivedEvents.Where(e => e.GlobalPosition > after && e.GlobalPosition <= upTo).LongCountAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many events (not archived) lie after <paramref name="after"/> and up to <paramref name="upTo"/>, and when the first of them was stored.</summary>
    /// <param name="after">The position before the range.</param>
    /// <param name="upTo">The last position of the range.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<(long Count, DateTimeOffset? FirstStored)> CountEventsAsync(long after, long upTo, CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        var range = context.Events.Where(e => e.GlobalPosition > after && e.GlobalPosition <= upTo);
        var count = await range.LongCountAsync(cancellationToken).ConfigureAwait(false);
        if (count == 0)
            return (0, null);
        var first = await range.OrderBy(e => e.GlobalPosition).Select(e => e.Timestamp).FirstAsync(cancellationToken).ConfigureAwait(false);
        return (count, first);
    }

    async Task RecordInboxForgetsBeforeAsync(System.Data.Common.DbConnection connection, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO subscription_checkpoints (name, position, updated_at) VALUES (@name, @ticks, @at)
            ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            WHERE excluded.position > subscription_checkpoints.position
            """;
        AddParameter(command, "name", InboxForgetsBeforeName);
        AddParameter(command, "ticks", cutoff.UtcTicks);
        AddParameter(command, "at", _dialect.TimestampParameter(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
