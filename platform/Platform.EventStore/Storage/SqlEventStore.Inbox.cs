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
            command.CommandText = InsertProcessedSql;
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

    /// <summary>
    /// Records that <paramref name="consumer"/> processed <paramref name="messageId"/>, an event of
    /// <paramref name="streamId"/> at <paramref name="streamVersion"/>, and counts in the same round
    /// trip (a <see cref="System.Data.Common.DbBatch"/> where the provider has them) the earlier
    /// events of that stream, of the given types, that the consumer has not processed yet: what an
    /// ordered consumer checks before its effects run. <see cref="InboxClaim.Recorded"/> is false for
    /// a redelivery.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="messageId">The event id.</param>
    /// <param name="streamId">The event's stream.</param>
    /// <param name="streamVersion">The event's version in its stream.</param>
    /// <param name="typeNames">The stored type names of the events the consumer handles; other events of the stream do not count.</param>
    /// <param name="transaction">The transaction of the consumer's effects.</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    public async Task<InboxClaim> TryMarkProcessedInOrderAsync(string consumer, Guid messageId, string streamId, long streamVersion,
        IReadOnlyList<string> typeNames, EventStoreTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentNullException.ThrowIfNull(typeNames);
        ArgumentNullException.ThrowIfNull(transaction);
        if (streamVersion <= 1 || typeNames.Count == 0)
            return new InboxClaim(await TryMarkProcessedAsync(consumer, messageId, transaction, cancellationToken).ConfigureAwait(false), 0);

        var connection = transaction.Connection;
        var earlierSql = EarlierUnprocessedSql(typeNames.Count);
        void AddEarlier(Func<System.Data.Common.DbParameter> create, System.Data.Common.DbParameterCollection parameters) =>
            AddEarlierParameters(create, parameters, consumer, streamId, streamVersion, typeNames);

        if (!connection.CanCreateBatch)
        {
            var recorded = await TryMarkProcessedAsync(consumer, messageId, transaction, cancellationToken).ConfigureAwait(false);
            await using var earlier = connection.CreateCommand();
            earlier.Transaction = transaction.Transaction;
            earlier.CommandText = earlierSql;
            AddEarlier(earlier.CreateParameter, earlier.Parameters);
            return new InboxClaim(recorded, Convert.ToInt64(await earlier.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false),
                System.Globalization.CultureInfo.InvariantCulture));
        }

        await using var batch = connection.CreateBatch();
        batch.Transaction = transaction.Transaction;
        var insert = batch.CreateBatchCommand();
        insert.CommandText = InsertProcessedSql;
        Add(insert.CreateParameter, insert.Parameters, "consumer", consumer);
        Add(insert.CreateParameter, insert.Parameters, "message", GuidParameter(messageId));
        Add(insert.CreateParameter, insert.Parameters, "at", _dialect.TimestampParameter(DateTimeOffset.UtcNow));
        batch.BatchCommands.Add(insert);
        var count = batch.CreateBatchCommand();
        count.CommandText = earlierSql;
        AddEarlier(count.CreateParameter, count.Parameters);
        batch.BatchCommands.Add(count);
        long pending;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            pending = Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
        }
        return new InboxClaim(insert.RecordsAffected == 1, pending);
    }

    /// <summary>
    /// <see cref="TryMarkProcessedInOrderAsync(string, Guid, string, long, IReadOnlyList{string}, EventStoreTransaction, CancellationToken)"/>
    /// for several events at once, answered as if claimed one after the other in the order given:
    /// every inbox row and every order count in one statement on PostgreSQL, one claim after the
    /// other elsewhere. What a consumer committing several deliveries in one transaction asks.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="events">The events: id, stream and version.</param>
    /// <param name="typeNames">The stored type names of the events the consumer handles.</param>
    /// <param name="transaction">The transaction of the consumer's effects.</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    public async Task<InboxClaim[]> TryMarkProcessedInOrderAsync(string consumer, IReadOnlyList<InboxClaimRequest> events,
        IReadOnlyList<string> typeNames, EventStoreTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(typeNames);
        ArgumentNullException.ThrowIfNull(transaction);
        if (events.Count > 1 && _dialect.TryClaimManyAsync(transaction.Connection, transaction.Transaction, consumer, events, typeNames,
                cancellationToken) is { } many)
            return await many.ConfigureAwait(false);
        var claims = new InboxClaim[events.Count];
        for (var i = 0; i < events.Count; i++)
            claims[i] = await TryMarkProcessedInOrderAsync(consumer, events[i].EventId, events[i].StreamId, events[i].StreamVersion,
                typeNames, transaction, cancellationToken).ConfigureAwait(false);
        return claims;
    }

    /// <summary>
    /// Removes inbox rows written in <paramref name="transaction"/> for events the consumer turned
    /// down after claiming them (an earlier event of the stream was not processed yet), so that the
    /// rest of the transaction can commit and the events come again.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="messageIds">The events to take back.</param>
    /// <param name="transaction">The transaction that wrote the rows.</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    public async Task UnmarkProcessedAsync(string consumer, IEnumerable<Guid> messageIds, EventStoreTransaction transaction,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentNullException.ThrowIfNull(messageIds);
        ArgumentNullException.ThrowIfNull(transaction);
        foreach (var messageId in messageIds)
        {
            await using var command = transaction.Connection.CreateCommand();
            command.Transaction = transaction.Transaction;
            command.CommandText = "DELETE FROM processed_messages WHERE consumer = @consumer AND message_id = @message";
            AddParameter(command, "consumer", consumer);
            AddParameter(command, "message", GuidParameter(messageId));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // The order guard's count: earlier events of the stream, of the consumer's types, not in its inbox.
    //
    // Written so that its only plan is the cheap one, whatever the statistics: the stream's earlier
    // events by the (stream_id, stream_version) index (the materialized CTE keeps the type filter
    // away from ix_events_type_name_timestamp), then one primary-key probe of the inbox per event (a
    // scalar subquery stays a per-row SubPlan; NOT EXISTS becomes an anti join). The NOT EXISTS
    // form, prepared while the tables were new and small, was cached by PostgreSQL as a generic plan
    // that read the consumer's whole inbox for every earlier event: until autovacuum first analyzed
    // the tables, a fresh database's consumers ran at a fifth of their speed, with PostgreSQL's CPU
    // per event ten times higher.
    //
    // Only events stored after the consumer's start for their type count (see RecordInboxStartAsync):
    // a consumer deployed after a stream's first events, or handling a type it did not handle then,
    // never received those, and must not wait for them.
    internal static string EarlierUnprocessedSql(int typeCount) =>
        "WITH earlier AS MATERIALIZED (SELECT event_id, type_name, global_position FROM events WHERE stream_id = @stream AND stream_version < @version) " +
        "SELECT count(*) FROM earlier e " +
        $"WHERE e.type_name IN ({string.Join(", ", Enumerable.Range(0, typeCount).Select(i => "@type" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)))}) " +
        "AND e.global_position > COALESCE((SELECT c.position FROM subscription_checkpoints c WHERE c.name = @start || e.type_name), 0) " +
        "AND (SELECT 1 FROM processed_messages p WHERE p.consumer = @consumer AND p.message_id = e.event_id) IS NULL";

    static void AddEarlierParameters(Func<System.Data.Common.DbParameter> create, System.Data.Common.DbParameterCollection parameters,
        string consumer, string streamId, long streamVersion, IReadOnlyList<string> typeNames)
    {
        Add(create, parameters, "stream", streamId);
        Add(create, parameters, "version", streamVersion);
        Add(create, parameters, "consumer", consumer);
        Add(create, parameters, "start", InboxStartPrefix(consumer));
        for (var i = 0; i < typeNames.Count; i++)
            Add(create, parameters, "type" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), typeNames[i]);
    }

    const string InsertProcessedSql =
        "INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES (@consumer, @message, @at) ON CONFLICT DO NOTHING";

    static void Add(Func<System.Data.Common.DbParameter> create, System.Data.Common.DbParameterCollection parameters, string name, object value)
    {
        var parameter = create();
        parameter.ParameterName = name;
        parameter.Value = value;
        parameters.Add(parameter);
    }

    static void AddParameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>The checkpoint row that holds where <paramref name="consumer"/>'s order guard begins for events of <paramref name="typeName"/>.</summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="typeName">A stored event type name the consumer handles.</param>
    public static string InboxStartName(string consumer, string typeName) => InboxStartPrefix(consumer) + typeName;

    static string InboxStartPrefix(string consumer) => "inbox-start:" + consumer + ":";

    /// <summary>
    /// Records where <paramref name="consumer"/>'s order guard begins for each of
    /// <paramref name="typeNames"/> it has not handled before: the position the outbox relay has
    /// published up to (its checkpoint <paramref name="relayCheckpoint"/>). An ordered claim then
    /// waits only for earlier events of the stream stored after the start of their type. Events
    /// stored before it were published before the consumer existed, or before it handled their
    /// type, and never reach it; without a start, a consumer deployed into a running system (or
    /// given one more event type) turned away every later event of every existing stream as out of
    /// order. A start is never moved. Call it once the consumer's queue exists and before this
    /// process's relay publishes.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="typeNames">The stored type names of the events it handles.</param>
    /// <param name="relayCheckpoint">The outbox relay's checkpoint name.</param>
    /// <param name="cancellationToken">Cancels the inserts.</param>
    /// <returns>How many of the types got a start now (0 when the consumer had them all).</returns>
    public async Task<int> RecordInboxStartAsync(string consumer, IReadOnlyList<string> typeNames, string relayCheckpoint,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentNullException.ThrowIfNull(typeNames);
        ArgumentException.ThrowIfNullOrEmpty(relayCheckpoint);
        await using var connection = await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var recorded = 0;
        foreach (var typeName in typeNames)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO subscription_checkpoints (name, position, updated_at)
                SELECT @name, COALESCE((SELECT c.position FROM subscription_checkpoints c WHERE c.name = @relay), 0), @at WHERE 1 = 1
                ON CONFLICT (name) DO NOTHING
                """;
            AddParameter(command, "name", InboxStartName(consumer, typeName));
            AddParameter(command, "relay", relayCheckpoint);
            AddParameter(command, "at", _dialect.TimestampParameter(DateTimeOffset.UtcNow));
            recorded += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return recorded;
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

/// <summary>What <see cref="SqlEventStore.TryMarkProcessedInOrderAsync"/> found.</summary>
/// <param name="Recorded">True when the inbox row was inserted; false for a message the consumer had already processed.</param>
/// <param name="EarlierUnprocessed">Earlier events of the stream, of the consumer's types, not yet in its inbox.</param>
public readonly record struct InboxClaim(bool Recorded, long EarlierUnprocessed);

/// <summary>One event a consumer claims in <see cref="SqlEventStore.TryMarkProcessedInOrderAsync(string, IReadOnlyList{InboxClaimRequest}, IReadOnlyList{string}, EventStoreTransaction, CancellationToken)"/>.</summary>
/// <param name="EventId">The event id.</param>
/// <param name="StreamId">The event's stream.</param>
/// <param name="StreamVersion">The event's version in its stream.</param>
public readonly record struct InboxClaimRequest(Guid EventId, string StreamId, long StreamVersion);
