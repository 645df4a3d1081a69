using Npgsql;

namespace Platform.Testing;

/// <summary>Databases of their own on the test (or benchmark) PostgreSQL server, for tests and benchmarks.</summary>
public static class PostgresDatabases
{
    /// <summary>Creates database <paramref name="name"/> (dropping a leftover of that name first); returns its connection string.</summary>
    /// <param name="admin">A connection string to the server.</param>
    /// <param name="name">The database's name.</param>
    public static async Task<string> CreateAsync(string admin, string name)
    {
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection))
            await drop.ExecuteNonQueryAsync();
        await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection))
            await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    /// <summary>Drops the database <paramref name="connectionString"/> points at, closing its pooled connections.</summary>
    /// <param name="admin">A connection string to the server.</param>
    /// <param name="connectionString">The database's connection string.</param>
    public static async Task DropAsync(string admin, string connectionString)
    {
        NpgsqlConnection.ClearAllPools();
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
