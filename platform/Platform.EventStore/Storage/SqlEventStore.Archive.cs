using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    const string Columns =
        "global_position, stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, \"timestamp\"";

    /// <summary>
    /// Moves the events of a stream at or below <paramref name="publishedUpTo"/> out of the hot table
    /// into <c>archived_events</c>, keeping their positions. Reads skip them unless asked to include
    /// the archive; appends continue the stream's versions. An event the outbox relay has not
    /// published yet stays where the relay reads it: pass the relay's checkpoint, or
    /// <see cref="long.MaxValue"/> for a store no relay reads. Returns how many events moved.
    /// </summary>
    /// <param name="streamId">The stream to archive.</param>
    /// <param name="publishedUpTo">The relay's checkpoint: no later event moves.</param>
    /// <param name="cancellationToken">Cancels the move; a cancelled move moves nothing.</param>
    public Task<int> ArchiveStreamAsync(string streamId, long publishedUpTo, CancellationToken cancellationToken = default) =>
        MoveAsync("events", "archived_events", "stream_id = {0} AND global_position <= {1}", [streamId, publishedUpTo], cancellationToken);

    /// <summary>
    /// Moves every event appended before <paramref name="cutoff"/> and at or below
    /// <paramref name="publishedUpTo"/> into the archive (see <see cref="ArchiveStreamAsync"/>).
    /// Returns how many moved.
    /// </summary>
    /// <param name="cutoff">Events older than this move.</param>
    /// <param name="publishedUpTo">The relay's checkpoint: no later event moves.</param>
    /// <param name="cancellationToken">Cancels the move.</param>
    public Task<int> ArchiveOlderThanAsync(DateTimeOffset cutoff, long publishedUpTo, CancellationToken cancellationToken = default) =>
        MoveAsync("events", "archived_events", "\"timestamp\" < {0} AND global_position <= {1}",
            [_dialect.TimestampParameter(cutoff), publishedUpTo], cancellationToken);

    /// <summary>
    /// Moves a stream's archived events back into the hot table at their original positions.
    /// Catch-up readers that have already passed those positions do not see them again: a restore
    /// brings history back for reads and aggregate loads, it does not republish it.
    /// </summary>
    /// <param name="streamId">The stream to restore.</param>
    /// <param name="cancellationToken">Cancels the move.</param>
    public Task<int> RestoreStreamAsync(string streamId, CancellationToken cancellationToken = default) =>
        MoveAsync("archived_events", "events", "stream_id = {0}", [streamId], cancellationToken);

    /// <summary>
    /// Archives whole streams that have been idle since <paramref name="idleSince"/> (no event stored
    /// at or after it: closed orders, finished flows), <paramref name="streamsPerTransaction"/> streams
    /// per transaction so that no transaction holds a large part of the table. Only events at or below
    /// <paramref name="publishedUpTo"/> move: an event the outbox relay has not published yet must
    /// stay where the relay reads it. Loads, appends and projections read the archive; the relay
    /// does not. Returns how many streams and events moved.
    /// </summary>
    /// <param name="idleSince">Streams whose last event was stored before this move.</param>
    /// <param name="publishedUpTo">The relay's checkpoint: no later event moves.</param>
    /// <param name="streamsPerTransaction">Streams moved per transaction.</param>
    /// <param name="cancellationToken">Stops between transactions; what moved stays moved.</param>
    public async Task<(long Streams, long Events)> ArchiveIdleStreamsAsync(DateTimeOffset idleSince, long publishedUpTo,
        int streamsPerTransaction = 1_000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(streamsPerTransaction, 1);
        long streams = 0, events = 0;
        var after = "";
        while (true)
        {
            await using var context = _dialect.CreateContext();
            var connection = context.Database.GetDbConnection();
            await context.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            // Stream ids in order from where the last batch ended: the unique index on (stream_id,
            // stream_version) serves the grouping, so the whole pass reads the table once.
            var batch = new List<string>(streamsPerTransaction);
            await using (var pick = connection.CreateCommand())
            {
                pick.CommandText = """
                    SELECT stream_id FROM events WHERE stream_id > @after GROUP BY stream_id
                    HAVING MAX("timestamp") < @idle AND MAX(global_position) <= @published
                    ORDER BY stream_id LIMIT @batch
                    """;
                AddParameter(pick, "after", after);
                AddParameter(pick, "idle", _dialect.TimestampParameter(idleSince));
                AddParameter(pick, "published", publishedUpTo);
                AddParameter(pick, "batch", streamsPerTransaction);
                await using var reader = await pick.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    batch.Add(reader.GetString(0));
            }
            if (batch.Count == 0)
                return (streams, events);
            using (await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false))
            await using (var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                var ids = string.Join(", ", batch.Select((_, i) => "@s" + i));
                var moved = await MoveRowsAsync(connection, transaction.GetDbTransaction(),
                    $"INSERT INTO archived_events ({Columns}) SELECT {Columns} FROM events WHERE stream_id IN ({ids}) AND global_position <= @published",
                    batch, publishedUpTo, cancellationToken).ConfigureAwait(false);
                var deleted = await MoveRowsAsync(connection, transaction.GetDbTransaction(),
                    $"DELETE FROM events WHERE stream_id IN ({ids}) AND global_position <= @published", batch, publishedUpTo, cancellationToken)
                    .ConfigureAwait(false);
                if (moved != deleted)
                    throw new InvalidOperationException($"Archiving moved {moved} rows but removed {deleted}; nothing was changed.");
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                streams += batch.Count;
                events += moved;
            }
            after = batch[^1];
        }
    }

    static async Task<int> MoveRowsAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string sql,
        List<string> streamIds, long publishedUpTo, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        for (var i = 0; i < streamIds.Count; i++)
            AddParameter(command, "s" + i, streamIds[i]);
        AddParameter(command, "published", publishedUpTo);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    async Task<int> MoveAsync(string from, string to, string where, object[] arguments, CancellationToken cancellationToken)
    {
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var context = _dialect.CreateContext();
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Table names and conditions are constants of this class; only the arguments come from the caller.
        var insert = $"INSERT INTO {to} ({Columns}) SELECT {Columns} FROM {from} WHERE {where}";
        var delete = $"DELETE FROM {from} WHERE {where}";
        var moved = await context.Database.ExecuteSqlRawAsync(insert, arguments, cancellationToken).ConfigureAwait(false);
        var deleted = await context.Database.ExecuteSqlRawAsync(delete, arguments, cancellationToken).ConfigureAwait(false);
        if (moved != deleted)
            throw new InvalidOperationException($"Archiving moved {moved} rows but removed {deleted}; nothing was changed.");
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return moved;
    }
}
