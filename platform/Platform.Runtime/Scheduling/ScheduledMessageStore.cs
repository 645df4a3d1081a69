using System.Data.Common;
using System.Text.Json;
using Npgsql;
using Platform.Messaging;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Scheduling;

/// <summary>
/// The <c>scheduled_messages</c> table in the event store's database: the durable scheduler and the
/// saga outbox in one. A timeout is a row due at its time; a message a saga or reaction sends is a
/// row due a little after its transaction commits (<see cref="PlatformSagaOptions.LeftoverDelay"/>):
/// the runtime delivers it right after the commit and deletes the row, and when the process died
/// first, the poller (<see cref="ScheduledMessageService"/>) delivers it once it is due. Rows are
/// written in the transaction of the saga or reaction that produced them, so a rolled-back step
/// leaves none and a committed one cannot lose them. Created with <c>CREATE TABLE IF NOT EXISTS</c>
/// in portable SQL, like <c>message_dead_letters</c>.
/// </summary>
public sealed class ScheduledMessageStore
{
    const string Columns = "id, owner, correlation_id, token_id, kind, destination, message_type, payload, headers, due_at, created_at, attempts, last_error, key_version";

    readonly StoreProvider _provider;
    readonly string _connectionString;
    readonly SchemaOnce _schema;

    /// <summary>Creates the store.</summary>
    /// <param name="provider">The event store's database kind.</param>
    /// <param name="connectionString">The event store's connection string.</param>
    public ScheduledMessageStore(StoreProvider provider, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _provider = provider;
        _connectionString = connectionString;
        _schema = new SchemaOnce(CreateSchemaAsync);
    }

    /// <summary>The database kind.</summary>
    public StoreProvider Provider => _provider;

    /// <summary>Creates the table if it is missing (once per process; retried after a failure).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task EnsureSchemaAsync(CancellationToken cancellationToken = default) => _schema.EnsureAsync(cancellationToken);

    /// <summary>Inserts messages in the caller's transaction.</summary>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The transaction of the saga or reaction step.</param>
    /// <param name="messages">The messages.</param>
    /// <param name="cancellationToken">Cancels the inserts.</param>
    public static async Task InsertAsync(DbConnection connection, DbTransaction transaction, IEnumerable<ScheduledMessageRow> messages,
        CancellationToken cancellationToken)
    {
        foreach (var message in messages)
        {
            await using var command = Sql.Command(connection, transaction,
                $"INSERT INTO scheduled_messages ({Columns}) VALUES (@id, @owner, @correlation_id, @token_id, @kind, @destination, @message_type, @payload, @headers, @due_at, @created_at, 0, NULL, @key_version)");
            Sql.Add(command, "id", message.Id.ToString("D"));
            Sql.Add(command, "owner", message.Owner);
            Sql.Add(command, "correlation_id", message.CorrelationId);
            Sql.Add(command, "token_id", message.TokenId?.ToString("D"));
            Sql.Add(command, "kind", message.Kind.ToString());
            Sql.Add(command, "destination", message.Destination);
            Sql.Add(command, "message_type", message.MessageType);
            Sql.Add(command, "payload", message.Payload);
            Sql.Add(command, "headers", message.Headers);
            Sql.Add(command, "due_at", Sql.Time(message.DueAt));
            Sql.Add(command, "created_at", Sql.Time(message.CreatedAt));
            Sql.Add(command, "key_version", message.KeyVersion);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Cancels a scheduled message by its token in the caller's transaction. Returns whether a row was removed.</summary>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The transaction of the saga step.</param>
    /// <param name="tokenId">The schedule token.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    public static async Task<bool> CancelAsync(DbConnection connection, DbTransaction transaction, Guid tokenId, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction, "DELETE FROM scheduled_messages WHERE token_id = @token");
        Sql.Add(command, "token", tokenId.ToString("D"));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>
    /// Cancels what was scheduled under <paramref name="key"/> by an event before <paramref name="version"/>
    /// of its stream (<see cref="ScheduledMessageRow.KeyVersion"/>), and what was scheduled with no version,
    /// in the caller's transaction: an event handled late cancels nothing a later event scheduled.
    /// </summary>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The transaction of the cancelling step.</param>
    /// <param name="key">The key the rows were scheduled under (their token).</param>
    /// <param name="version">The cancelling event's version in its stream.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    public static async Task<int> CancelBeforeAsync(DbConnection connection, DbTransaction transaction, Guid key, long version, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            "DELETE FROM scheduled_messages WHERE token_id = @token AND (key_version IS NULL OR key_version < @version)");
        Sql.Add(command, "token", key.ToString("D"));
        Sql.Add(command, "version", version);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Overwrites the personal fields in what waits to be sent because of events being erased: a
    /// delayed reaction's command, an outbox row not yet delivered (found by their causation id,
    /// the event's id). A command carries an event's field under the field's own name when it was
    /// filled by name, and under its own field's name when a with: copied it: both are erased.
    /// Returns how many rows changed.
    /// </summary>
    /// <param name="fieldsByEvent">Each erased event's id and its personal fields (at its type's current version).</param>
    /// <param name="cancellationToken">Cancels the erasure before it commits.</param>
    /// <param name="messageFields">
    /// The fields of the commands that carry personal data under their own names, by the command's
    /// full type name (<see cref="Domains.DomainCatalog.PersonalMessageFields"/>): erased in a waiting
    /// message of that type too.
    /// </param>
    public async Task<int> ErasePersonalDataAsync(IReadOnlyDictionary<Guid, IReadOnlyList<Platform.Events.PersonalField>> fieldsByEvent,
        CancellationToken cancellationToken = default, IReadOnlyDictionary<string, IReadOnlyList<Platform.Events.PersonalField>>? messageFields = null)
    {
        if (fieldsByEvent.Count == 0)
            return 0;
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var write = await Sql.OpenWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // The rows that name one of the events, a chunk of events per statement (headers are JSON
        // text with no index: one pass over the table per chunk, not per event).
        var rows = new List<(string Id, string Type, string Payload, string Headers)>();
        foreach (var chunk in fieldsByEvent.Where(e => e.Value.Count > 0).Select(e => e.Key).Chunk(100))
        {
            await using var select = Sql.Command(connection, transaction, "");
            var conditions = new List<string>(chunk.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                var name = "e" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                conditions.Add($"headers LIKE @{name}");
                Sql.Add(select, name, "%" + chunk[i].ToString("D") + "%");
            }
            select.CommandText = $"SELECT id, message_type, payload, headers FROM scheduled_messages WHERE {string.Join(" OR ", conditions)}";
            await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }
        var changed = 0;
        foreach (var (id, type, payload, headers) in rows)
        {
            // Caused by the event itself: its id as the causation id, not merely somewhere in the text.
            var causation = JsonSerializer.Deserialize<StoredHeaders>(headers, MessageDelivery.Json)?.Headers.GetValueOrDefault(PlatformHeaders.CausationId);
            if (!Guid.TryParse(causation, out var eventId) || !fieldsByEvent.TryGetValue(eventId, out var fields))
                continue;
            if (EraseMessage(payload, type, fields, null, messageFields, MessageDelivery.Json) is { } erased)
                changed += await UpdatePayloadAsync(connection, transaction, id, erased, cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed;
    }

    /// <summary>
    /// A sent or waiting message with its personal data overwritten, or null when it holds none: the
    /// source's fields where the command has them by name (<paramref name="nameOf"/> gives the JSON
    /// name), and the command's own fields that carry them under another name (a <c>with:</c> that
    /// renames), found in <paramref name="messageFields"/> by the message's type.
    /// </summary>
    /// <param name="payload">The message as JSON.</param>
    /// <param name="messageType">Its assembly-qualified type name, as stored.</param>
    /// <param name="byName">The personal fields of what filled it (an event's, a saga's data).</param>
    /// <param name="nameOf">The JSON property of a field's name; the name itself when null.</param>
    /// <param name="messageFields">The commands' own personal fields, by full type name.</param>
    /// <param name="options">How to write the result.</param>
    internal static string? EraseMessage(string payload, string messageType, IEnumerable<Platform.Events.PersonalField> byName, Func<string, string>? nameOf,
        IReadOnlyDictionary<string, IReadOnlyList<Platform.Events.PersonalField>>? messageFields, JsonSerializerOptions options)
    {
        var erased = Platform.Events.PersonalField.Erase(payload, byName, nameOf, options);
        return messageFields is not null && messageFields.TryGetValue(messageType.Split(',')[0].Trim(), out var own)
               && Platform.Events.PersonalField.Erase(erased ?? payload, own, options: options) is { } renamed
            ? renamed
            : erased;
    }

    /// <summary>Overwrites a waiting message's payload in the caller's transaction; returns the rows changed.</summary>
    internal static async Task<int> UpdatePayloadAsync(DbConnection connection, DbTransaction transaction, string id, string payload,
        CancellationToken cancellationToken)
    {
        await using var update = Sql.Command(connection, transaction, "UPDATE scheduled_messages SET payload = @payload WHERE id = @id");
        Sql.Add(update, "payload", payload);
        Sql.Add(update, "id", id);
        return await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes <paramref name="key"/>'s turn until the transaction ends, so that scheduling and cancelling
    /// under one key run one after the other: on PostgreSQL a transaction-scoped advisory lock; a
    /// SQLite transaction already holds the database's write lock.
    /// </summary>
    public static async Task LockKeyAsync(DbConnection connection, DbTransaction transaction, Guid key, CancellationToken cancellationToken)
    {
        if (connection is not NpgsqlConnection)
            return;
        await using var command = Sql.Command(connection, transaction, "SELECT pg_advisory_xact_lock(@key)");
        Sql.Add(command, "key", BitConverter.ToInt64(key.ToByteArray(), 0));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether an event <paramref name="unless"/> names was stored in its stream after its version.</summary>
    public static async Task<bool> StoredAfterAsync(DbConnection connection, DbTransaction transaction, CancelledBy unless, CancellationToken cancellationToken)
    {
        if (unless.EventTypes.Count == 0)
            return false;
        var types = string.Join(", ", unless.EventTypes.Select((_, i) => "@type" + i));
        await using var command = Sql.Command(connection, transaction,
            $"SELECT 1 FROM events WHERE stream_id = @stream AND stream_version > @version AND type_name IN ({types}) LIMIT 1");
        Sql.Add(command, "stream", unless.StreamId);
        Sql.Add(command, "version", unless.Version);
        for (var i = 0; i < unless.EventTypes.Count; i++)
            Sql.Add(command, "type" + i, unless.EventTypes[i]);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>
    /// What waits in <c>scheduled_messages</c> at <paramref name="now"/> (saga timeouts, and what saga,
    /// reaction and message-consumer steps sent, until delivered): not yet due, due (a working
    /// poller delivers it within its poll interval), and whose last delivery failed; and when the
    /// oldest due row became due. Reads only; all zero when the table does not exist yet.
    /// </summary>
    /// <param name="now">The time to compare with.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<ScheduledCount> CountAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (!await Sql.TableExistsAsync(connection, _provider, "scheduled_messages", cancellationToken).ConfigureAwait(false))
            return new ScheduledCount(0, 0, 0, null);
        await using var command = Sql.Command(connection, null, """
            SELECT COALESCE(SUM(CASE WHEN due_at > @now THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN due_at <= @now THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0), MIN(CASE WHEN due_at <= @now THEN due_at END)
            FROM scheduled_messages
            """);
        Sql.Add(command, "now", Sql.Time(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new ScheduledCount(Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
            Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture),
            Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture),
            Sql.Text(reader, 3) is { } oldest ? Sql.ParseTime(oldest) : null);
    }

    /// <summary>Deletes the timeouts still pending for one owner's instance (an operator resolved the saga).</summary>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The transaction to delete in.</param>
    /// <param name="owner">E.g. <c>saga:OrderFulfilment</c>.</param>
    /// <param name="correlationId">The instance.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>How many were deleted.</returns>
    public static async Task<int> CancelTimeoutsAsync(DbConnection connection, DbTransaction transaction, string owner, string correlationId,
        CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            "DELETE FROM scheduled_messages WHERE owner = @owner AND correlation_id = @id AND token_id IS NOT NULL");
        Sql.Add(command, "owner", owner);
        Sql.Add(command, "id", correlationId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes delivered messages.</summary>
    /// <param name="ids">Their ids.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    public async Task DeleteAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        if (ids.Count == 0)
            return;
        await using var write = await Sql.OpenWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        foreach (var chunk in ids.Chunk(200))
        {
            await using var command = Sql.Command(connection, null, "");
            var names = new List<string>(chunk.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                names.Add("@id" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Sql.Add(command, "id" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), chunk[i].ToString("D"));
            }
            command.CommandText = $"DELETE FROM scheduled_messages WHERE id IN ({string.Join(", ", names)})";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Delivers up to <paramref name="batchSize"/> due messages through <paramref name="deliver"/> and
    /// deletes each delivered one. On PostgreSQL the rows are claimed with <c>FOR UPDATE SKIP LOCKED</c>
    /// in one transaction, so several runtime instances share the work; SQLite is one process.
    /// A failed delivery stays with its error and is tried again after a back-off. Returns how many were delivered.
    /// </summary>
    /// <param name="now">The current time.</param>
    /// <param name="batchSize">The most messages to take.</param>
    /// <param name="deliver">Sends or publishes one message.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    public async Task<int> DeliverDueAsync(DateTimeOffset now, int batchSize, Func<ScheduledMessageRow, CancellationToken, Task> deliver,
        CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = _provider == StoreProvider.Postgres
            ? await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false)
            : null;
        var due = new List<ScheduledMessageRow>();
        await using (var select = Sql.Command(connection, transaction,
            $"SELECT {Columns} FROM scheduled_messages WHERE due_at <= @now ORDER BY due_at LIMIT @limit" +
            (_provider == StoreProvider.Postgres ? " FOR UPDATE SKIP LOCKED" : "")))
        {
            Sql.Add(select, "now", Sql.Time(now));
            Sql.Add(select, "limit", batchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                due.Add(Read(reader));
        }
        var delivered = 0;
        foreach (var message in due)
        {
            try
            {
                await deliver(message, cancellationToken).ConfigureAwait(false);
                // SQLite: a statement of its own, after the delivery (PostgreSQL: in the claiming transaction).
                using var turn = transaction is null ? await Sql.EnterWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false) : null;
                await using var delete = Sql.Command(connection, transaction, "DELETE FROM scheduled_messages WHERE id = @id");
                Sql.Add(delete, "id", message.Id.ToString("D"));
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                delivered++;
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                var wait = TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, Math.Min(message.Attempts, 6))));
                using var turn = transaction is null ? await Sql.EnterWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false) : null;
                await using var failed = Sql.Command(connection, transaction,
                    "UPDATE scheduled_messages SET attempts = attempts + 1, last_error = @error, due_at = @due WHERE id = @id");
                Sql.Add(failed, "error", exception.GetType().FullName + ": " + exception.Message);
                Sql.Add(failed, "due", Sql.Time(now + wait));
                Sql.Add(failed, "id", message.Id.ToString("D"));
                await failed.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        if (transaction is not null)
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return delivered;
    }

    /// <summary>The messages waiting for one owner's instance (a saga), oldest first.</summary>
    /// <param name="owner">E.g. <c>saga:OrderFulfilment</c>.</param>
    /// <param name="correlationId">The saga instance.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<ScheduledMessageRow>> ListAsync(string owner, string correlationId, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Sql.Command(connection, null,
            $"SELECT {Columns} FROM scheduled_messages WHERE owner = @owner AND correlation_id = @correlation ORDER BY due_at, id");
        Sql.Add(command, "owner", owner);
        Sql.Add(command, "correlation", correlationId);
        var rows = new List<ScheduledMessageRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            rows.Add(Read(reader));
        return rows;
    }

    /// <summary>How many messages are waiting (due or not).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Sql.Command(connection, null, "SELECT count(*) FROM scheduled_messages");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => Sql.OpenAsync(_provider, _connectionString, cancellationToken);

    static ScheduledMessageRow Read(DbDataReader reader) => new(
        Guid.Parse(reader.GetString(0)), reader.GetString(1), Sql.Text(reader, 2),
        Sql.Text(reader, 3) is { } token ? Guid.Parse(token) : null, Enum.Parse<DeliveryKind>(reader.GetString(4)), Sql.Text(reader, 5),
        reader.GetString(6), reader.GetString(7), reader.GetString(8), Sql.ParseTime(reader.GetString(9)), Sql.ParseTime(reader.GetString(10)),
        Sql.Int(reader, 11), Sql.Text(reader, 12), reader.IsDBNull(13) ? null : reader.GetInt64(13));

    async Task CreateSchemaAsync()
    {
        await Sql.ExecuteDdlAsync(_provider, _connectionString, Ddl, CancellationToken.None).ConfigureAwait(false);
        // key_version came with unless: on delayed reactions; a table made before has no such column.
        await Sql.AddColumnIfMissingAsync(_provider, _connectionString, "scheduled_messages", "key_version", "bigint", CancellationToken.None)
            .ConfigureAwait(false);
    }

    const string Ddl =
        """
            CREATE TABLE IF NOT EXISTS scheduled_messages (
                id text NOT NULL PRIMARY KEY,
                owner text NOT NULL,
                correlation_id text NULL,
                token_id text NULL,
                kind text NOT NULL,
                destination text NULL,
                message_type text NOT NULL,
                payload text NOT NULL,
                headers text NOT NULL,
                due_at text NOT NULL,
                created_at text NOT NULL,
                attempts integer NOT NULL,
                last_error text NULL,
                key_version bigint NULL);
            CREATE INDEX IF NOT EXISTS ix_scheduled_messages_due_at ON scheduled_messages (due_at);
            CREATE INDEX IF NOT EXISTS ix_scheduled_messages_token_id ON scheduled_messages (token_id);
            CREATE INDEX IF NOT EXISTS ix_scheduled_messages_owner ON scheduled_messages (owner, correlation_id);
            """;
}

/// <summary>What waits in <c>scheduled_messages</c> (<see cref="ScheduledMessageStore.CountAsync(DateTimeOffset, CancellationToken)"/>).</summary>
/// <param name="Waiting">Rows not due yet (timeouts, and sends held back after a failed delivery).</param>
/// <param name="Due">Rows due and not delivered: more than a poll's worth means no runtime delivers them.</param>
/// <param name="Failing">Rows whose last delivery failed (tried again with a back-off).</param>
/// <param name="OldestDue">When the oldest due row became due, or null.</param>
public sealed record ScheduledCount(long Waiting, long Due, long Failing, DateTimeOffset? OldestDue);
