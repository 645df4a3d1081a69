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
        using var turn = transaction is null ? await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false) : null;
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
    /// Deletes the message inbox rows (<c>processed_messages</c>: sagas, reactions, command
    /// consumers) recorded before <paramref name="olderThan"/>, <paramref name="batchSize"/> rows per
    /// statement so no transaction holds many locks. A message redelivered after its row is gone runs
    /// again: keep rows for longer than any redelivery (broker, relay, Kafka offset reset) can come
    /// late. The ordered consumers' rows (<c>consumer_streams</c>, one per stream) are not touched.
    /// The cutoff is kept (<see cref="GetInboxForgetsBeforeAsync"/>) so that a republish can tell
    /// which events would run again.
    /// </summary>
    /// <param name="olderThan">Rows recorded before this moment go.</param>
    /// <param name="batchSize">Rows per statement.</param>
    /// <param name="cancellationToken">Stops between statements; what was deleted stays deleted.</param>
    /// <returns>How many rows were deleted.</returns>
    public async Task<long> DeleteProcessedMessagesAsync(DateTimeOffset olderThan, int batchSize = 10_000,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // Recorded first: a crash between the two must not leave rows gone with no record of it.
        await RecordInboxForgetsBeforeAsync(connection, olderThan, cancellationToken).ConfigureAwait(false);
        long deleted = 0;
        while (true)
        {
            await using var command = connection.CreateCommand();
            // The primary key picks the batch on both databases; processed_at has no index, and the
            // oldest rows are the first the scan meets.
            command.CommandText = """
                DELETE FROM processed_messages WHERE (consumer, message_id) IN (
                    SELECT consumer, message_id FROM processed_messages WHERE processed_at < @before LIMIT @batch)
                """;
            AddParameter(command, "before", _dialect.TimestampParameter(olderThan));
            AddParameter(command, "batch", batchSize);
            var rows = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            deleted += rows;
            if (rows < batchSize)
                return deleted;
        }
    }

    /// <summary>
    /// Claims an event for an ordered consumer: unless the consumer has processed the stream up to
    /// <paramref name="streamVersion"/> already (a redelivery), and unless an earlier event of the
    /// stream, of the given types, is still unprocessed (the event overtook it), records in
    /// <c>consumer_streams</c> that the consumer has processed the stream up to this event. A
    /// consumer processes a stream in version order, so that one row per stream is its whole inbox:
    /// an event at or below it is a redelivery, and only the events between it and this one can be
    /// missing. Pass the transaction of the consumer's effects so that both commit together.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="streamId">The event's stream.</param>
    /// <param name="streamVersion">The event's version in its stream.</param>
    /// <param name="typeNames">The stored type names of the events the consumer handles; other events of the stream do not count.</param>
    /// <param name="transaction">The transaction of the consumer's effects.</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    public async Task<InboxClaim> TryMarkProcessedInOrderAsync(string consumer, string streamId, long streamVersion,
        IReadOnlyList<string> typeNames, EventStoreTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentOutOfRangeException.ThrowIfLessThan(streamVersion, 1);
        ArgumentNullException.ThrowIfNull(transaction);
        RequireTypes(typeNames);
        if (_dialect.TryClaimManyAsync(transaction.Connection, transaction.Transaction, consumer,
                [new InboxClaimRequest(streamId, streamVersion)], typeNames, cancellationToken) is { } one)
            return (await one.ConfigureAwait(false))[0];

        // One statement reads where the consumer is in the stream and counts what it still lacks
        // before this event; the upsert follows only for an event it may process. (Outside
        // PostgreSQL the store's transactions hold the database's write lock, so no one moves the
        // row in between.)
        var (done, pending) = await JudgeAsync(transaction.Connection, transaction.Transaction, consumer, streamId, streamVersion, typeNames,
            cancellationToken).ConfigureAwait(false);
        if (streamVersion <= done)
            return new InboxClaim(false, 0);
        if (pending > 0)
            return new InboxClaim(false, pending);

        await using var advance = transaction.Connection.CreateCommand();
        advance.Transaction = transaction.Transaction;
        advance.CommandText = AdvanceSql;
        AddParameter(advance, "consumer", consumer);
        AddParameter(advance, "stream", streamId);
        AddParameter(advance, "version", streamVersion);
        AddParameter(advance, "at", _dialect.TimestampParameter(DateTimeOffset.UtcNow));
        return new InboxClaim(await advance.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1, 0);
    }

    /// <summary>
    /// <see cref="TryMarkProcessedInOrderAsync(string, string, long, IReadOnlyList{string}, EventStoreTransaction, CancellationToken)"/>
    /// for several events at once, answered as if claimed one after the other in the order given:
    /// one statement on PostgreSQL when every event is of another stream (what a group commit
    /// holds: a consumer runs one stream's deliveries one at a time), one claim after the other
    /// otherwise. What a consumer committing several deliveries in one transaction asks.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="events">The events: stream and version.</param>
    /// <param name="typeNames">The stored type names of the events the consumer handles.</param>
    /// <param name="transaction">The transaction of the consumer's effects.</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    public async Task<InboxClaim[]> TryMarkProcessedInOrderAsync(string consumer, IReadOnlyList<InboxClaimRequest> events,
        IReadOnlyList<string> typeNames, EventStoreTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(transaction);
        RequireTypes(typeNames);
        if (events.Count > 1 && EachOfAnotherStream(events)
            && _dialect.TryClaimManyAsync(transaction.Connection, transaction.Transaction, consumer, events, typeNames, cancellationToken) is { } many)
            return await many.ConfigureAwait(false);
        var claims = new InboxClaim[events.Count];
        for (var i = 0; i < events.Count; i++)
            claims[i] = await TryMarkProcessedInOrderAsync(consumer, events[i].StreamId, events[i].StreamVersion,
                typeNames, transaction, cancellationToken).ConfigureAwait(false);
        return claims;
    }

    static void RequireTypes(IReadOnlyList<string> typeNames)
    {
        ArgumentNullException.ThrowIfNull(typeNames);
        if (typeNames.Count == 0)
            throw new ArgumentException("An ordered consumer names the event types it handles.", nameof(typeNames));
    }

    static bool EachOfAnotherStream(IReadOnlyList<InboxClaimRequest> events)
    {
        var streams = new HashSet<string>(events.Count, StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (!streams.Add(e.StreamId))
                return false;
        }
        return true;
    }

    /// <summary>
    /// How far <paramref name="consumer"/> has processed <paramref name="streamId"/>: the version of
    /// the last event of it that the consumer committed, 0 when none.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="streamId">The stream.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> GetConsumerStreamVersionAsync(string consumer, string streamId, CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        return await context.ConsumerStreams.Where(s => s.Consumer == consumer && s.StreamId == streamId)
            .Select(s => (long?)s.StreamVersion).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false) ?? 0;
    }

    /// <summary>
    /// What the order guard would answer now for an event that <paramref name="consumer"/> has not
    /// been able to apply, without claiming it: how many earlier events of the stream, of the given
    /// types, the consumer still lacks (0 when it may apply the event, or applied it already). The
    /// runtime asks it of the events the guard gave up on, to replay them once the gap has closed.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="streamId">The event's stream.</param>
    /// <param name="streamVersion">The event's version in its stream.</param>
    /// <param name="typeNames">The stored type names of the events the consumer handles.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> CountUnprocessedBeforeAsync(string consumer, string streamId, long streamVersion,
        IReadOnlyList<string> typeNames, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentOutOfRangeException.ThrowIfLessThan(streamVersion, 1);
        RequireTypes(typeNames);
        await using var connection = await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (done, pending) = await JudgeAsync(connection, null, consumer, streamId, streamVersion, typeNames, cancellationToken).ConfigureAwait(false);
        return streamVersion <= done ? 0 : pending;
    }

    static async Task<(long Done, long Pending)> JudgeAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction,
        string consumer, string streamId, long streamVersion, IReadOnlyList<string> typeNames, CancellationToken cancellationToken)
    {
        await using var judge = connection.CreateCommand();
        judge.Transaction = transaction;
        judge.CommandText = JudgeSql(typeNames.Count);
        AddParameter(judge, "consumer", consumer);
        AddParameter(judge, "stream", streamId);
        AddParameter(judge, "version", streamVersion);
        AddParameter(judge, "start", InboxStartPrefix(consumer));
        for (var i = 0; i < typeNames.Count; i++)
            AddParameter(judge, "type" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), typeNames[i]);
        await using var reader = await judge.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    // Where the consumer is in the stream (0: nowhere yet), and how many events of the stream
    // between there and this one, of the consumer's types, it still lacks. Only events stored after
    // the consumer's start for their type count (see RecordInboxStartAsync): a consumer deployed
    // after a stream's first events, or handling a type it did not handle then, never received
    // those, and must not wait for them. The range is read by the (stream_id, stream_version) index
    // and is empty unless the event overtook another: the guard reads no more of a long stream than
    // the events it is missing, and nothing for the event right after the row (a stream's versions
    // have no holes).
    internal static string JudgeSql(int typeCount) =>
        "SELECT d.done, CASE WHEN @version <= d.done + 1 THEN 0 ELSE (" +
        "SELECT count(*) FROM events e WHERE e.stream_id = @stream AND e.stream_version > d.done AND e.stream_version < @version " +
        $"AND e.type_name IN ({string.Join(", ", Enumerable.Range(0, typeCount).Select(i => "@type" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)))}) " +
        "AND e.global_position > COALESCE((SELECT c.position FROM subscription_checkpoints c WHERE c.name = @start || e.type_name), 0)) END " +
        "FROM (SELECT COALESCE((SELECT s.stream_version FROM consumer_streams s WHERE s.consumer = @consumer AND s.stream_id = @stream), 0) AS done) d";

    // Moves the consumer's row forward, never back: a second delivery of the same event that got
    // here concurrently finds the row at its version and changes nothing (0 rows: a redelivery).
    const string AdvanceSql = """
        INSERT INTO consumer_streams (consumer, stream_id, stream_version, processed_at) VALUES (@consumer, @stream, @version, @at)
        ON CONFLICT (consumer, stream_id) DO UPDATE SET stream_version = excluded.stream_version, processed_at = excluded.processed_at
        WHERE consumer_streams.stream_version < excluded.stream_version
        """;

    const string InsertProcessedSql =
        "INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES (@consumer, @message, @at) ON CONFLICT DO NOTHING";

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
    /// <paramref name="typeNames"/> it has not handled before: <paramref name="publishedUpTo"/>, the
    /// position up to which the outbox relay had published before the consumer's queue existed. An
    /// ordered claim then waits only for earlier events of the stream stored after the start of
    /// their type. Events up to it were published before the consumer existed, or before it handled
    /// their type, and never reach it; without a start, a consumer deployed into a running system (or
    /// given one more event type) turned away every later event of every existing stream as out of
    /// order. A start is never moved. Read the relay's checkpoint before the queue is made, record
    /// the start after, before this process's relay publishes.
    /// </summary>
    /// <param name="consumer">The consumer's stable name.</param>
    /// <param name="typeNames">The stored type names of the events it handles.</param>
    /// <param name="publishedUpTo">The outbox relay's checkpoint, read before the consumer's queue was made.</param>
    /// <param name="cancellationToken">Cancels the inserts.</param>
    /// <returns>How many of the types got a start now (0 when the consumer had them all).</returns>
    public async Task<int> RecordInboxStartAsync(string consumer, IReadOnlyList<string> typeNames, long publishedUpTo,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(consumer);
        ArgumentNullException.ThrowIfNull(typeNames);
        ArgumentOutOfRangeException.ThrowIfNegative(publishedUpTo);
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var recorded = 0;
        foreach (var typeName in typeNames)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO subscription_checkpoints (name, position, updated_at) VALUES (@name, @position, @at)
                ON CONFLICT (name) DO NOTHING
                """;
            AddParameter(command, "name", InboxStartName(consumer, typeName));
            AddParameter(command, "position", publishedUpTo);
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
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var context = _dialect.CreateContext();
        await context.Database.ExecuteSqlRawAsync(
            """
            INSERT INTO subscription_checkpoints (name, position, updated_at) VALUES ({0}, {1}, {2})
            ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            """,
            [name, position, _dialect.TimestampParameter(DateTimeOffset.UtcNow)], cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What <see cref="SqlEventStore.TryMarkProcessedInOrderAsync(string, string, long, IReadOnlyList{string}, EventStoreTransaction, CancellationToken)"/> found.</summary>
/// <param name="Recorded">True when the consumer's row moved to the event: it may run its effects. False for a redelivery, and for an event that overtook an earlier one.</param>
/// <param name="EarlierUnprocessed">Earlier events of the stream, of the consumer's types, that it has not processed: above 0, the event overtook them and must come again.</param>
public readonly record struct InboxClaim(bool Recorded, long EarlierUnprocessed)
{
    /// <summary>The consumer has processed this event before.</summary>
    public bool IsRedelivery => !Recorded && EarlierUnprocessed == 0;
}

/// <summary>One event a consumer claims in <see cref="SqlEventStore.TryMarkProcessedInOrderAsync(string, IReadOnlyList{InboxClaimRequest}, IReadOnlyList{string}, EventStoreTransaction, CancellationToken)"/>.</summary>
/// <param name="StreamId">The event's stream.</param>
/// <param name="StreamVersion">The event's version in its stream.</param>
public readonly record struct InboxClaimRequest(string StreamId, long StreamVersion);
