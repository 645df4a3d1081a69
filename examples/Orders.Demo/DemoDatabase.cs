using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Platform.Runtime.Configuration;

namespace Shop.Orders.Demo;

/// <summary>
/// The run's own database, so a run never counts an earlier run's orders: a SQLite file in a new
/// temp folder, or a new database <c>orders_demo_{run id}</c> on the PostgreSQL server. Removed at
/// the end unless the run keeps it.
/// </summary>
sealed class DemoDatabase : IAsyncDisposable
{
    readonly Func<Task> _remove;

    DemoDatabase(StoreProvider provider, string connectionString, string description, Func<Task> remove)
    {
        Provider = provider;
        ConnectionString = connectionString;
        Description = description;
        _remove = remove;
    }

    public StoreProvider Provider { get; }

    public string ConnectionString { get; }

    /// <summary>Where it is, for the first line of the run.</summary>
    public string Description { get; }

    /// <summary>Leave it in place on dispose.</summary>
    public bool Keep { get; set; }

    public static async Task<DemoDatabase> CreateAsync(DemoOptions options)
    {
        if (options.Store == StoreProvider.Postgres)
        {
            var server = options.Postgres!;
            var name = $"orders_demo_{options.RunId}".ToLowerInvariant();
            await using (var connection = new NpgsqlConnection(server))
            {
                await connection.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
                await create.ExecuteNonQueryAsync();
            }
            var builder = new NpgsqlConnectionStringBuilder(server) { Database = name };
            return new DemoDatabase(StoreProvider.Postgres, builder.ConnectionString, $"PostgreSQL database {name} on {builder.Host}:{builder.Port}", async () =>
            {
                NpgsqlConnection.ClearAllPools();
                await using var connection = new NpgsqlConnection(server);
                await connection.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
                await drop.ExecuteNonQueryAsync();
            });
        }
        var folder = Directory.CreateTempSubdirectory("platform-orders-demo-");
        return new DemoDatabase(StoreProvider.Sqlite, $"Data Source={Path.Combine(folder.FullName, "events.db")}", $"SQLite in {folder.FullName}", () =>
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
            return Task.CompletedTask;
        });
    }

    /// <summary>A new open connection, for the summary's queries.</summary>
    public async Task<DbConnection> OpenAsync()
    {
        DbConnection connection = Provider == StoreProvider.Postgres ? new NpgsqlConnection(ConnectionString) : new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (Keep)
        {
            // Still release the pooled connections, so the kept database is not held open by this process.
            SqliteConnection.ClearAllPools();
            NpgsqlConnection.ClearAllPools();
            return;
        }
        await _remove();
    }
}
