using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;

namespace Platform.Runtime;

/// <summary>
/// Portable SQL helpers for the runtime's own tables (dead letters, sagas, history, scheduled
/// messages): text ids and ISO-8601 UTC times (fixed width, so they sort and compare as text).
/// </summary>
static class Sql
{
    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Whether the runtime has created <paramref name="table"/> (reading only; the runtime creates its tables when it first needs them).</summary>
    public static async Task<bool> TableExistsAsync(DbConnection connection, StoreProvider provider, string table, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, provider == StoreProvider.Postgres
            ? "SELECT to_regclass(@table) IS NOT NULL"
            : "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = @table");
        Add(command, "table", table);
        return Convert.ToBoolean(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    public static int Int(DbDataReader reader, int ordinal) => Convert.ToInt32(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    public static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string text)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = text;
        return command;
    }

    const int BusyTimeoutMilliseconds = 30_000;

    public static async Task<DbConnection> OpenAsync(StoreProvider provider, string connectionString, CancellationToken cancellationToken)
    {
        DbConnection connection = provider == StoreProvider.Postgres
            ? new NpgsqlConnection(connectionString)
            : new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (connection is SqliteConnection)
            {
                await using var pragma = Command(connection, null, $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds};");
                await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// On SQLite, waits for this process's turn to write (<see cref="SqliteWriteGate"/>): take it
    /// before a write statement or transaction on a connection of one's own, dispose it after. Null
    /// on PostgreSQL, whose writers run side by side.
    /// </summary>
    public static async ValueTask<IDisposable?> EnterWriteAsync(StoreProvider provider, string connectionString, CancellationToken cancellationToken) =>
        provider == StoreProvider.Sqlite
            ? await SqliteWriteGate.For(connectionString).EnterAsync(TimeSpan.FromMilliseconds(BusyTimeoutMilliseconds), cancellationToken).ConfigureAwait(false)
            : null;

    /// <summary>
    /// A connection of its own for writes, opened in the process's write turn on SQLite
    /// (<see cref="EnterWriteAsync"/>); disposing it closes the connection, then passes the turn on.
    /// </summary>
    public static async Task<WriteConnection> OpenWriteAsync(StoreProvider provider, string connectionString, CancellationToken cancellationToken)
    {
        var turn = await EnterWriteAsync(provider, connectionString, cancellationToken).ConfigureAwait(false);
        try
        {
            return new WriteConnection(await OpenAsync(provider, connectionString, cancellationToken).ConfigureAwait(false), turn);
        }
        catch
        {
            turn?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <c>CREATE ... IF NOT EXISTS</c> statements. On PostgreSQL two processes running the same
    /// statement at once collide in the catalog (23505 on pg_type) despite IF NOT EXISTS, so the DDL
    /// runs under a transaction-scoped advisory lock. On SQLite the statements run in the process's
    /// write turn (<see cref="SqliteWriteGate"/>), each on its own: a table that is missing is
    /// created in its turn, where SQLite's busy handler let the runtime's writers, handing the lock
    /// on to each other, keep it from the DDL for the whole busy timeout (a progress line's first
    /// look, made before the runtime created the saga tables, failed after 30 s); one interrupted
    /// half-way is completed by the next call. Call it holding no write turn.
    /// </summary>
    public static async Task ExecuteDdlAsync(StoreProvider provider, string connectionString, string ddl, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(provider, connectionString, cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenAsync(provider, connectionString, cancellationToken).ConfigureAwait(false);
        if (provider == StoreProvider.Sqlite)
        {
            await using var statements = Command(connection, null, ddl);
            await statements.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = Command(connection, transaction, "SELECT pg_advisory_xact_lock(7234001)"))
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, transaction, ddl);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds a nullable column that a later release reads to a table an earlier release created
    /// (<c>CREATE TABLE IF NOT EXISTS</c> leaves such a table as it was). Looks first, so a table that
    /// has it is not locked: on PostgreSQL <c>ALTER TABLE</c> takes the table's exclusive lock, and
    /// runs, like <see cref="ExecuteDdlAsync"/>, under the DDL's advisory lock with <c>IF NOT
    /// EXISTS</c> for a process adding it at the same time; on SQLite in the process's write turn.
    /// No default, so no row is rewritten: rows written before read it as null.
    /// </summary>
    public static async Task AddColumnIfMissingAsync(StoreProvider provider, string connectionString, string table, string column, string type,
        CancellationToken cancellationToken)
    {
        await using (var connection = await OpenAsync(provider, connectionString, cancellationToken).ConfigureAwait(false))
        {
            await using var look = Command(connection, null, provider == StoreProvider.Postgres
                ? "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @table AND column_name = @column"
                : "SELECT count(*) FROM pragma_table_info(@table) WHERE name = @column");
            Add(look, "table", table);
            Add(look, "column", column);
            if (Convert.ToInt64(await look.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0)
                return;
        }
        if (provider == StoreProvider.Postgres)
        {
            await ExecuteDdlAsync(provider, connectionString, $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {type} NULL", cancellationToken)
                .ConfigureAwait(false);
            return;
        }
        using var turn = await EnterWriteAsync(provider, connectionString, cancellationToken).ConfigureAwait(false);
        await using var writer = await OpenAsync(provider, connectionString, cancellationToken).ConfigureAwait(false);
        // Looked at again in the turn: another connection of this process may have added it since.
        await using var again = Command(writer, null, "SELECT count(*) FROM pragma_table_info(@table) WHERE name = @column");
        Add(again, "table", table);
        Add(again, "column", column);
        if (Convert.ToInt64(await again.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0)
            return;
        try
        {
            await using var alter = Command(writer, null, $"ALTER TABLE {table} ADD COLUMN {column} {type} NULL");
            await alter.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e) when (e.Message.Contains("duplicate column", StringComparison.OrdinalIgnoreCase))
        {
            // Another process added it between the look and the statement.
        }
    }

    /// <summary>True when the exception is a primary-key or unique violation.</summary>
    public static bool IsUniqueViolation(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == 19, // SQLITE_CONSTRAINT
        _ => false,
    };
}

/// <summary>A connection opened by <see cref="Sql.OpenWriteAsync"/>, holding the write turn until disposed.</summary>
sealed class WriteConnection(DbConnection connection, IDisposable? turn) : IAsyncDisposable
{
    public DbConnection Connection { get; } = connection;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            turn?.Dispose();
        }
    }
}

/// <summary>
/// A PostgreSQL session advisory lock held on a connection of its own: one holder across every
/// process of the database (the outbox relay's leader, a projection's rebuild). The database drops
/// it when the connection dies; disposing unlocks it first, because a pooled connection goes back
/// to the pool with its session, which would keep the lock until the pool reuses the connection.
/// </summary>
sealed class SessionLock : IAsyncDisposable
{
    readonly string _name;

    SessionLock(NpgsqlConnection connection, string name)
    {
        Connection = connection;
        _name = name;
    }

    /// <summary>The connection that holds the lock (a holder may ping it to notice its loss).</summary>
    public NpgsqlConnection Connection { get; }

    /// <summary>Takes the lock named <paramref name="name"/>, or returns null while another session holds it.</summary>
    public static async Task<SessionLock?> TryTakeAsync(string connectionString, string name, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtext(@name))", connection);
            take.Parameters.AddWithValue("name", name);
            if ((bool)(await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                return new SessionLock(connection, name);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtext(@name))", Connection);
            release.Parameters.AddWithValue("name", _name);
            await release.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException)
        {
            // The connection is gone, and the lock with its session.
        }
        finally
        {
            await Connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// The SQLite counterpart of <see cref="SessionLock"/>: an exclusive open of a lock file beside the
/// database (<c>events.db.{name}.lock</c>), which .NET takes with <c>flock</c> on Unix and a share
/// lock on Windows. So one holder across the processes that use the file (the runtime, a command
/// beside it), and the system drops it when its process dies. The file stays behind: removing it
/// could leave two holders, each locking a file of its own. A database in memory lives in one
/// process, whose own lock it is.
/// </summary>
sealed class FileLock : IAsyncDisposable
{
    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> InProcess = new(StringComparer.Ordinal);
    readonly FileStream? _file;
    readonly string? _key;

    FileLock(FileStream? file, string? key)
    {
        _file = file;
        _key = key;
    }

    /// <summary>Takes the lock named <paramref name="name"/> (letters, digits, '-' and '.'), or returns null while another holder has it.</summary>
    public static FileLock? TryTake(string connectionString, string name)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:" ||
            builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            var key = builder.DataSource + "\n" + name;
            return InProcess.TryAdd(key, 0) ? new FileLock(null, key) : null;
        }
        var path = Path.GetFullPath(builder.DataSource) + "." + name + ".lock";
        try
        {
            return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None), null);
        }
        catch (IOException exception) when (exception.HResult is EWouldBlock or SharingViolation or LockViolation)
        {
            return null;
        }
    }

    const int EWouldBlock = 11; // flock(2) on Linux
    const int SharingViolation = unchecked((int)0x80070020);
    const int LockViolation = unchecked((int)0x80070021);

    public ValueTask DisposeAsync()
    {
        if (_key is not null)
            InProcess.TryRemove(_key, out _);
        return _file?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}

/// <summary>
/// Creates a store's tables once per process, the first time they are needed; a failed attempt
/// (the database was down) is not remembered, so the next caller tries again instead of the
/// feature staying off for the life of the process.
/// </summary>
sealed class SchemaOnce(Func<Task> create)
{
    Lazy<Task> _attempt = new(create);

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var attempt = _attempt;
        try
        {
            await attempt.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch when (attempt.Value.IsFaulted)
        {
            Interlocked.CompareExchange(ref _attempt, new Lazy<Task>(create), attempt);
            throw;
        }
    }
}
