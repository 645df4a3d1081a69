using Microsoft.EntityFrameworkCore;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    const string Columns =
        "global_position, stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, \"timestamp\"";

    /// <summary>
    /// Moves every event of a stream out of the hot table into <c>archived_events</c>, keeping their
    /// positions. Reads skip them unless asked to include the archive; appends continue the
    /// stream's versions. Returns how many events moved.
    /// </summary>
    /// <param name="streamId">The stream to archive.</param>
    /// <param name="cancellationToken">Cancels the move; a cancelled move moves nothing.</param>
    public Task<int> ArchiveStreamAsync(string streamId, CancellationToken cancellationToken = default) =>
        MoveAsync("events", "archived_events", "stream_id = {0}", streamId, cancellationToken);

    /// <summary>Moves every event appended before <paramref name="cutoff"/> into the archive. Returns how many moved.</summary>
    /// <param name="cutoff">Events older than this move.</param>
    /// <param name="cancellationToken">Cancels the move.</param>
    public Task<int> ArchiveOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default) =>
        MoveAsync("events", "archived_events", "\"timestamp\" < {0}", _dialect.TimestampParameter(cutoff), cancellationToken);

    /// <summary>
    /// Moves a stream's archived events back into the hot table at their original positions.
    /// Catch-up readers that have already passed those positions do not see them again: a restore
    /// brings history back for reads and aggregate loads, it does not republish it.
    /// </summary>
    /// <param name="streamId">The stream to restore.</param>
    /// <param name="cancellationToken">Cancels the move.</param>
    public Task<int> RestoreStreamAsync(string streamId, CancellationToken cancellationToken = default) =>
        MoveAsync("archived_events", "events", "stream_id = {0}", streamId, cancellationToken);

    async Task<int> MoveAsync(string from, string to, string where, object argument, CancellationToken cancellationToken)
    {
        await using var context = _dialect.CreateContext();
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Table names and conditions are constants of this class; only the argument comes from the caller.
        var insert = $"INSERT INTO {to} ({Columns}) SELECT {Columns} FROM {from} WHERE {where}";
        var delete = $"DELETE FROM {from} WHERE {where}";
        var moved = await context.Database.ExecuteSqlRawAsync(insert, [argument], cancellationToken).ConfigureAwait(false);
        var deleted = await context.Database.ExecuteSqlRawAsync(delete, [argument], cancellationToken).ConfigureAwait(false);
        if (moved != deleted)
            throw new InvalidOperationException($"Archiving moved {moved} rows but removed {deleted}; nothing was changed.");
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return moved;
    }
}
