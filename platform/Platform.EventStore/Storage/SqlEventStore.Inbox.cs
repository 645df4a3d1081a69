using Microsoft.EntityFrameworkCore;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    /// <summary>
    /// Records that <paramref name="consumer"/> processed <paramref name="messageId"/>. Returns false
    /// when it already had, i.e. the message is a redelivery and must change nothing. Pass the
    /// transaction of the consumer's own work so both commit together.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="messageId">The message (event) id.</param>
    /// <param name="transaction">The transaction of the consumer's effects, or null for a transaction of its own.</param>
    /// <param name="cancellationToken">Cancels the insert.</param>
    public async Task<bool> TryMarkProcessedAsync(string consumer, Guid messageId, EventStoreTransaction? transaction = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        // Plain ADO.NET on the caller's connection: an EF context handed a borrowed connection
        // would close it when it goes back to the pool.
        var connection = transaction?.Connection ?? await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction?.Transaction;
            command.CommandText =
                "INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES (@consumer, @message, @at) ON CONFLICT DO NOTHING";
            AddParameter(command, "consumer", consumer);
            AddParameter(command, "message", GuidParameter(messageId));
            AddParameter(command, "at", _dialect.TimestampParameter(DateTimeOffset.UtcNow));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        finally
        {
            if (transaction is null)
                await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    static void AddParameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>The position a named reader has fully processed, 0 when it has none yet.</summary>
    /// <param name="name">The reader's name.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> GetCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        return await context.SubscriptionCheckpoints.Where(c => c.Name == name).Select(c => (long?)c.Position)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false) ?? 0;
    }

    /// <summary>Stores a named reader's position.</summary>
    /// <param name="name">The reader's name.</param>
    /// <param name="position">The global position it has fully processed.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task SaveCheckpointAsync(string name, long position, CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        await context.Database.ExecuteSqlRawAsync(
            """
            INSERT INTO subscription_checkpoints (name, position, updated_at) VALUES ({0}, {1}, {2})
            ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            """,
            [name, position, _dialect.TimestampParameter(DateTimeOffset.UtcNow)], cancellationToken).ConfigureAwait(false);
    }
}
