using Npgsql;
using Xunit;

namespace Platform.Testing;

/// <summary>
/// Where the real services started by <c>scripts/services.sh</c> are. The test command exports
/// <c>PLATFORM_POSTGRES</c> and <c>PLATFORM_RABBITMQ</c>. Under <c>CI=true</c> a missing
/// service fails the test; elsewhere the test is skipped with the reason printed.
/// </summary>
public static class RealServices
{
    public static bool IsCi =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The PostgreSQL connection string, or skip/fail when it is not configured.</summary>
    public static string Postgres => Require("PLATFORM_POSTGRES", "PostgreSQL");

    /// <summary>The PostgreSQL streaming standby of <see cref="Postgres"/>, or skip/fail when it is not configured.</summary>
    public static string PostgresReplica => Require("PLATFORM_POSTGRES_REPLICA", "The PostgreSQL standby");

    /// <summary>The same database as <paramref name="connectionString"/> (on <see cref="Postgres"/>), read from the standby.</summary>
    public static string OnReplica(string connectionString)
    {
        var replica = new NpgsqlConnectionStringBuilder(PostgresReplica);
        return new NpgsqlConnectionStringBuilder(connectionString) { Host = replica.Host, Port = replica.Port }.ConnectionString;
    }

    /// <summary>The RabbitMQ AMQP URI, or skip/fail when it is not configured.</summary>
    public static Uri RabbitMq => new(Require("PLATFORM_RABBITMQ", "RabbitMQ"));

    /// <summary>
    /// A fresh, empty PostgreSQL database for one test class, dropped by the caller's dispose.
    /// Tests never share tables, so they can run in parallel.
    /// </summary>
    public static Task<string> CreatePostgresDatabaseAsync(string prefix) =>
        PostgresDatabases.CreateAsync(Postgres, $"{prefix}_{Guid.NewGuid():N}".ToLowerInvariant());

    /// <summary>Drops a database made by <see cref="CreatePostgresDatabaseAsync"/>.</summary>
    public static Task DropPostgresDatabaseAsync(string connectionString) => PostgresDatabases.DropAsync(Postgres, connectionString);

    static string Require(string variable, string service)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value))
            return value;

        var reason = $"{service} is not configured: {variable} is not set. Run the tests with ./test.sh, " +
                     "or `scripts/services.sh up` and source .services/env.";
        if (IsCi)
            Assert.Fail(reason);
        Skip.If(true, reason);
        return string.Empty; // unreachable: Skip.If throws
    }
}
