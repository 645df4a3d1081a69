using System.Diagnostics;

namespace Platform.Testing;

/// <summary>The database kind a test runs on.</summary>
public enum Store { Sqlite, Postgres }

/// <summary>
/// A fresh, empty database for one test: a SQLite file in the temp folder, or a PostgreSQL
/// database on the test server (<see cref="RealServices"/>); dropped or deleted on dispose.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    readonly Func<Task> _drop;

    TestDatabase(Store store, string connectionString, Func<Task> drop)
    {
        Store = store;
        ConnectionString = connectionString;
        _drop = drop;
    }

    /// <summary>The database kind.</summary>
    public Store Store { get; }

    /// <summary>Its connection string (Npgsql or Microsoft.Data.Sqlite).</summary>
    public string ConnectionString { get; }

    /// <summary>An open connection of its own, for a test that reads or edits rows by hand.</summary>
    public async Task<System.Data.Common.DbConnection> OpenAsync()
    {
        System.Data.Common.DbConnection connection = Store == Store.Postgres
            ? new Npgsql.NpgsqlConnection(ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs one statement, as a restore or a hand edit would.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Creates the database.</summary>
    /// <param name="store">The kind.</param>
    /// <param name="name">A prefix for the database or file name, to tell the suites' leftovers apart.</param>
    public static async Task<TestDatabase> CreateAsync(Store store, string name)
    {
        if (store == Store.Postgres)
        {
            var connectionString = await RealServices.CreatePostgresDatabaseAsync(name);
            return new TestDatabase(store, connectionString, () => RealServices.DropPostgresDatabaseAsync(connectionString));
        }
        var file = Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():N}.db");
        return new TestDatabase(store, $"Data Source={file}", () =>
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var path in new[] { file, file + "-wal", file + "-shm" })
                File.Delete(path);
            foreach (var path in Directory.GetFiles(Path.GetDirectoryName(file)!, Path.GetFileName(file) + ".*.lock"))
                File.Delete(path); // the runtime's lock files (rebuilds)
            return Task.CompletedTask;
        });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _drop();
}

/// <summary>Polling for a condition instead of sleeping for a guessed time.</summary>
public static class Eventually
{
    /// <summary>Waits until <paramref name="condition"/> holds, checking every 20 ms, failing after <paramref name="timeout"/> (30 s).</summary>
    /// <param name="condition">What must become true.</param>
    /// <param name="what">What is waited for, for the failure message.</param>
    /// <param name="timeout">How long at most.</param>
    /// <param name="state">What to add to the failure message, e.g. the counts reached.</param>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<Task<string>>? state = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"Waited {limit.TotalSeconds:0} s for {what}." + (state is null ? "" : " " + await state()));
            await Task.Delay(20);
        }
    }
}
