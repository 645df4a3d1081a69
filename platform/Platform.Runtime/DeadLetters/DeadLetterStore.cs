using System.Data.Common;
using System.Globalization;
using Npgsql;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// The <c>message_dead_letters</c> table in the event store's database: messages consumers gave up
/// on, read and changed by the runtime and by <c>platform dlq</c>. The store's own <c>dead_letters</c>
/// table does not fit (one row per global position, no consumer, payload, headers or stack; commands
/// have no position), so this one sits beside it. It is created by the runtime with
/// <c>CREATE TABLE IF NOT EXISTS</c> in portable SQL, like the read-model tables, so the store's EF
/// model and migrations stay the store's.
/// </summary>
public sealed class DeadLetterStore
{
    const string Columns =
        "id, consumer, endpoint, message_id, message_type, event_type, stream_id, stream_version, global_position, " +
        "headers, payload, exception_type, exception_message, exception_detail, attempts, failed_at, state, discard_reason";

    readonly StoreProvider _provider;
    readonly string _connectionString;
    readonly SchemaOnce _schema;

    /// <summary>Creates the store of dead letters.</summary>
    /// <param name="provider">The database kind of the event store.</param>
    /// <param name="connectionString">The event store's connection string.</param>
    public DeadLetterStore(StoreProvider provider, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _provider = provider;
        _connectionString = connectionString;
        _schema = new SchemaOnce(CreateSchemaAsync);
    }

    /// <summary>
    /// Creates the table if it does not exist yet. The runtime does so at start, so that the
    /// table is there for <c>platform dlq</c> and for queries before the first letter is written.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task EnsureSchemaAsync(CancellationToken cancellationToken = default) => _schema.EnsureAsync(cancellationToken);

    /// <summary>Records a dead letter.</summary>
    /// <param name="letter">The message, its exception and its attempts.</param>
    /// <param name="cancellationToken">Cancels the insert.</param>
    public async Task AddAsync(DeadLetter letter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await using var write = await OpenWriteAsync(cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO message_dead_letters ({Columns}) VALUES " +
            "(@id, @consumer, @endpoint, @message_id, @message_type, @event_type, @stream_id, @stream_version, @global_position, " +
            "@headers, @payload, @exception_type, @exception_message, @exception_detail, @attempts, @failed_at, @state, @discard_reason)";
        Add(command, "id", letter.Id.ToString("D"));
        Add(command, "consumer", letter.Consumer);
        Add(command, "endpoint", letter.Endpoint);
        Add(command, "message_id", letter.MessageId);
        Add(command, "message_type", letter.MessageType);
        Add(command, "event_type", letter.EventType);
        Add(command, "stream_id", letter.StreamId);
        Add(command, "stream_version", letter.StreamVersion);
        Add(command, "global_position", letter.GlobalPosition);
        Add(command, "headers", letter.Headers);
        Add(command, "payload", letter.Payload);
        Add(command, "exception_type", letter.ExceptionType);
        Add(command, "exception_message", letter.ExceptionMessage);
        Add(command, "exception_detail", letter.ExceptionDetail);
        Add(command, "attempts", letter.Attempts);
        Add(command, "failed_at", letter.FailedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        Add(command, "state", letter.State.ToString());
        Add(command, "discard_reason", letter.DiscardReason);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Dead letters, oldest first; discarded ones only when <paramref name="includeDiscarded"/>.</summary>
    /// <param name="includeDiscarded">Also list discarded letters.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public Task<IReadOnlyList<DeadLetter>> ListAsync(bool includeDiscarded = false, CancellationToken cancellationToken = default) =>
        QueryAsync(includeDiscarded ? "" : "WHERE state <> 'Discarded'", cancellationToken);

    /// <summary>
    /// Per endpoint, how many letters are Dead and how many wait for a replay, and when the oldest of
    /// them failed: what <c>platform status</c> shows. Empty when the table was never made; this
    /// only reads, so a reader's database role needs no right to create it.
    /// </summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<DeadLetterCount>> CountByEndpointAsync(CancellationToken cancellationToken = default)
    {
        var exists = await ReadAsync(_provider == StoreProvider.Postgres
                ? "SELECT to_regclass('message_dead_letters') IS NOT NULL"
                : "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'message_dead_letters'",
            reader => Convert.ToBoolean(reader.GetValue(0), CultureInfo.InvariantCulture), cancellationToken, ensureSchema: false).ConfigureAwait(false);
        if (!exists.Single())
            return [];
        return await ReadAsync("""
                SELECT endpoint, SUM(CASE WHEN state = 'Dead' THEN 1 ELSE 0 END), SUM(CASE WHEN state = 'ReplayRequested' THEN 1 ELSE 0 END), MIN(failed_at)
                FROM message_dead_letters WHERE state <> 'Discarded' GROUP BY endpoint ORDER BY endpoint
                """,
            reader => new DeadLetterCount(reader.GetString(0), Number(reader, 1)!.Value, Number(reader, 2)!.Value, Time(reader, 3)),
            cancellationToken, ensureSchema: false).ConfigureAwait(false);
    }

    /// <summary>One dead letter, or null.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<DeadLetter?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        (await QueryAsync("WHERE id = @id", cancellationToken, ("id", id.ToString("D"))).ConfigureAwait(false)).SingleOrDefault();

    /// <summary>Asks the runtime to deliver a dead letter again. False when there is no such letter waiting.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    public Task<bool> RequestReplayAsync(Guid id, CancellationToken cancellationToken = default) =>
        UpdateAsync("UPDATE message_dead_letters SET state = 'ReplayRequested' WHERE id = @id AND state = 'Dead'", id, null, cancellationToken);

    /// <summary>
    /// Asks to replay several letters in one transaction, so the runtime sees all of them or none:
    /// a stream's letters asked for together go out together, in version order (<see cref="ReplayRequestsAsync"/>).
    /// </summary>
    /// <param name="ids">The letters' ids.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>The ids that were waiting, now requested; the others are not (there is no such letter, or it is not Dead).</returns>
    public async Task<IReadOnlyList<Guid>> RequestReplayAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        await using var write = await OpenWriteAsync(cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var requested = new List<Guid>();
        foreach (var id in ids.Distinct())
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "UPDATE message_dead_letters SET state = 'ReplayRequested' WHERE id = @id AND state = 'Dead'";
            Add(command, "id", id.ToString("D"));
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
                requested.Add(id);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return requested;
    }

    /// <summary>Discards a dead letter, keeping it with the reason. False when there is no such letter waiting.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="reason">Why, for whoever reads it later.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    public Task<bool> DiscardAsync(Guid id, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return UpdateAsync("UPDATE message_dead_letters SET state = 'Discarded', discard_reason = @reason WHERE id = @id AND state <> 'Discarded'",
            id, reason, cancellationToken);
    }

    /// <summary>Puts a letter whose replay cannot succeed back to Dead. False when it was not waiting for a replay.</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    public Task<bool> ReturnToDeadAsync(Guid id, CancellationToken cancellationToken = default) =>
        UpdateAsync("UPDATE message_dead_letters SET state = 'Dead' WHERE id = @id AND state = 'ReplayRequested'", id, null, cancellationToken);

    /// <summary>
    /// The letters of one endpoint an operator asked to replay: stored events first, in the store's
    /// order (so a stream's letters go out in version order, however they were asked for), then the
    /// others by when they failed.
    /// </summary>
    /// <param name="endpoint">The queue the letters failed on.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    internal Task<IReadOnlyList<DeadLetter>> ReplayRequestsAsync(string endpoint, CancellationToken cancellationToken = default) =>
        QueryAsync("WHERE state = 'ReplayRequested' AND endpoint = @endpoint", cancellationToken, ("endpoint", endpoint),
            orderBy: "CASE WHEN global_position IS NULL THEN 1 ELSE 0 END, global_position, failed_at, id");

    /// <summary>The endpoints that have letters requested for a replay.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    internal Task<IReadOnlyList<string>> RequestedEndpointsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("SELECT DISTINCT endpoint FROM message_dead_letters WHERE state = 'ReplayRequested' ORDER BY endpoint",
            reader => reader.GetString(0), cancellationToken);

    /// <summary>
    /// Takes this instance's turn to replay an endpoint's requested letters, so that of several
    /// instances polling one store only one sends them, each once and in order, not every instance
    /// each. On PostgreSQL, a transaction-scoped advisory lock named after the endpoint, held until the
    /// turn is disposed (released if the process dies); read the requests after taking the turn, so
    /// that none another instance sent meanwhile is sent again. On SQLite, one process's database, the
    /// turn is always free. Null when another instance has the turn.
    /// </summary>
    /// <param name="endpoint">The queue the letters failed on.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    internal async Task<IAsyncDisposable?> TryTakeReplayTurnAsync(string endpoint, CancellationToken cancellationToken = default)
    {
        if (_provider != StoreProvider.Postgres)
            return ReplayTurn.Free;
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        DbTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT pg_try_advisory_xact_lock(hashtext(@name))";
            Add(command, "name", "platform.dead-letter-replay:" + endpoint);
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                return new ReplayTurn(connection, transaction);
        }
        catch
        {
            if (transaction is not null)
                await transaction.DisposeAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await transaction.DisposeAsync().ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    sealed class ReplayTurn(DbConnection? connection, DbTransaction? transaction) : IAsyncDisposable
    {
        public static readonly ReplayTurn Free = new(null, null);

        public async ValueTask DisposeAsync()
        {
            if (transaction is not null)
                await transaction.DisposeAsync().ConfigureAwait(false);
            if (connection is not null)
                await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The letters in state Dead whose exception is <paramref name="exceptionType"/>, oldest first,
    /// without their payloads and stacks: what the replay service reads every poll.
    /// </summary>
    /// <param name="exceptionType">The exception's full type name.</param>
    /// <param name="withHeaders">Read the headers too.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    internal Task<IReadOnlyList<DeadLetterHead>> DeadHeadsOfExceptionAsync(string exceptionType, bool withHeaders,
        CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT id, endpoint, event_type, stream_id, stream_version{(withHeaders ? ", headers" : "")} FROM message_dead_letters " +
                "WHERE state = 'Dead' AND exception_type = @exception_type ORDER BY failed_at, id",
            reader => new DeadLetterHead(Guid.Parse(reader.GetString(0)), reader.GetString(1), Text(reader, 2), Text(reader, 3), Number(reader, 4),
                withHeaders ? reader.GetString(5) : null),
            cancellationToken, parameters: ("exception_type", exceptionType));

    /// <summary>
    /// The streams that have letters in state Dead of <paramref name="exceptionType"/>, one row per
    /// consumer, endpoint and stream (not the letters: a hot stream's pile is one row), longest
    /// waiting first.
    /// </summary>
    /// <param name="exceptionType">The exception's full type name.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    internal Task<IReadOnlyList<DeadLetterStream>> DeadStreamsOfExceptionAsync(string exceptionType, CancellationToken cancellationToken = default) =>
        ReadAsync("""
                SELECT consumer, endpoint, stream_id, MIN(stream_version) FROM message_dead_letters
                WHERE state = 'Dead' AND exception_type = @exception_type AND stream_id IS NOT NULL AND stream_version IS NOT NULL
                GROUP BY consumer, endpoint, stream_id ORDER BY MIN(failed_at), stream_id
                """,
            reader => new DeadLetterStream(reader.GetString(0), reader.GetString(1), reader.GetString(2), Number(reader, 3)!.Value),
            cancellationToken, parameters: ("exception_type", exceptionType));

    /// <summary>
    /// Asks to replay the letters in state Dead of <paramref name="exceptionType"/> of one stream
    /// (<see cref="DeadStreamsOfExceptionAsync"/>), in one statement: the runtime sees all of them or none.
    /// </summary>
    /// <returns>How many letters were requested.</returns>
    internal async Task<int> RequestStreamReplayAsync(DeadLetterStream stream, string exceptionType, CancellationToken cancellationToken = default)
    {
        await using var write = await OpenWriteAsync(cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE message_dead_letters SET state = 'ReplayRequested'
            WHERE state = 'Dead' AND exception_type = @exception_type AND consumer = @consumer AND endpoint = @endpoint
                AND stream_id = @stream_id AND stream_version IS NOT NULL
            """;
        Add(command, "exception_type", exceptionType);
        Add(command, "consumer", stream.Consumer);
        Add(command, "endpoint", stream.Endpoint);
        Add(command, "stream_id", stream.StreamId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a letter once it has been re-sent (a new failure records a new letter).</summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    public Task<bool> RemoveReplayedAsync(Guid id, CancellationToken cancellationToken = default) =>
        UpdateAsync("DELETE FROM message_dead_letters WHERE id = @id AND state = 'ReplayRequested'", id, null, cancellationToken);

    /// <summary>
    /// Deletes a letter, payload and all, whatever its state: what an erasure of personal data does to
    /// the letters of the erased stream (a discarded letter keeps its payload). False when there is none.
    /// </summary>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    public Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken = default) =>
        UpdateAsync("DELETE FROM message_dead_letters WHERE id = @id", id, null, cancellationToken);

    async Task<bool> UpdateAsync(string sql, Guid id, string? reason, CancellationToken cancellationToken)
    {
        await using var write = await OpenWriteAsync(cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        Add(command, "id", id.ToString("D"));
        if (reason is not null)
            Add(command, "reason", reason);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    Task<IReadOnlyList<DeadLetter>> QueryAsync(string where, CancellationToken cancellationToken, (string Name, object? Value)? parameter = null,
        string orderBy = "failed_at, id") =>
        ReadAsync($"SELECT {Columns} FROM message_dead_letters {where} ORDER BY {orderBy}", reader => new DeadLetter(
                Guid.Parse(reader.GetString(0)), reader.GetString(1), reader.GetString(2), Text(reader, 3), reader.GetString(4),
                Text(reader, 5), Text(reader, 6), Number(reader, 7), Number(reader, 8), reader.GetString(9), reader.GetString(10),
                reader.GetString(11), reader.GetString(12), reader.GetString(13), Convert.ToInt32(reader.GetValue(14), CultureInfo.InvariantCulture),
                Time(reader, 15), Enum.Parse<DeadLetterState>(reader.GetString(16)), Text(reader, 17)),
            cancellationToken, parameters: parameter is { } one ? [one] : []);

    // Every query of the table: one statement, one object per row. ensureSchema: false for readers
    // that must not create the table (platform status).
    async Task<IReadOnlyList<T>> ReadAsync<T>(string sql, Func<DbDataReader, T> row, CancellationToken cancellationToken,
        bool ensureSchema = true, params (string Name, object? Value)[] parameters)
    {
        await using var connection = ensureSchema
            ? await OpenAsync(cancellationToken).ConfigureAwait(false)
            : await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            Add(command, name, value);
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            rows.Add(row(reader));
        return rows;
    }

    // A database that was down at the first use must not disable dead letters for the life of
    // the process: SchemaOnce tries the table again on the next call.
    async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        return await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
    }

    // The schema first: creating it takes the write turn itself.
    async Task<WriteConnection> OpenWriteAsync(CancellationToken cancellationToken)
    {
        await _schema.EnsureAsync(cancellationToken).ConfigureAwait(false);
        return await Sql.OpenWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
    }

    // Every instance's replay service asks for letters by state (and exception) once a poll.
    Task CreateSchemaAsync() => Sql.ExecuteDdlAsync(_provider, _connectionString,
        """
        CREATE TABLE IF NOT EXISTS message_dead_letters (
            id text NOT NULL PRIMARY KEY,
            consumer text NOT NULL,
            endpoint text NOT NULL,
            message_id text NULL,
            message_type text NOT NULL,
            event_type text NULL,
            stream_id text NULL,
            stream_version bigint NULL,
            global_position bigint NULL,
            headers text NOT NULL,
            payload text NOT NULL,
            exception_type text NOT NULL,
            exception_message text NOT NULL,
            exception_detail text NOT NULL,
            attempts integer NOT NULL,
            failed_at text NOT NULL,
            state text NOT NULL,
            discard_reason text NULL);
        CREATE INDEX IF NOT EXISTS ix_message_dead_letters_state ON message_dead_letters (state, exception_type);
        """, CancellationToken.None);

    static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    static DateTimeOffset Time(DbDataReader reader, int ordinal) =>
        DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    static long? Number(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
