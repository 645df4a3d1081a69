using Platform.EventStore.Configuration;
using Platform.Testing;
using Xunit;

namespace Platform.EventStore.Tests;

/// <summary>One database per test class, migrated once; tests use their own stream ids.</summary>
public interface IStoreFixture : IAsyncLifetime
{
    EventStoreOptions Options(BadEventHandling onBadEvent = BadEventHandling.Throw);
}

public class PostgresStoreFixture : IStoreFixture
{
    string? _connectionString;

    /// <summary>The stores' <see cref="EventStoreOptions.ConcurrentAppends"/>.</summary>
    protected virtual int ConcurrentAppends => new EventStoreOptions().ConcurrentAppends;

    public async Task InitializeAsync()
    {
        // Without PostgreSQL the tests themselves skip (or fail under CI) through RealServices.Postgres.
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("PLATFORM_POSTGRES")))
            return;
        _connectionString = await RealServices.CreatePostgresDatabaseAsync("eventstore");
        await using var store = new Storage.SqlEventStore(Options(), Registries.Current());
        await store.MigrateAsync();
    }

    public EventStoreOptions Options(BadEventHandling onBadEvent = BadEventHandling.Throw) =>
        new EventStoreOptions { OnBadEvent = onBadEvent, ConcurrentAppends = ConcurrentAppends }.UsePostgres(_connectionString ?? RealServices.Postgres);

    public string ConnectionString => _connectionString ?? RealServices.Postgres;

    public async Task DisposeAsync()
    {
        if (_connectionString is not null)
            await RealServices.DropPostgresDatabaseAsync(_connectionString);
    }
}

/// <summary>PostgreSQL with one append running at a time: every append that meets another waits and goes in a group.</summary>
public sealed class GroupedAppendsPostgresFixture : PostgresStoreFixture
{
    protected override int ConcurrentAppends => 1;
}

public sealed class SqliteStoreFixture : IStoreFixture
{
    readonly string _path = Path.Combine(Path.GetTempPath(), $"eventstore-{Guid.NewGuid():N}.db");

    public async Task InitializeAsync()
    {
        await using var store = new Storage.SqlEventStore(Options(), Registries.Current());
        await store.MigrateAsync();
    }

    public EventStoreOptions Options(BadEventHandling onBadEvent = BadEventHandling.Throw) =>
        new EventStoreOptions { OnBadEvent = onBadEvent }.UseSqlite($"Data Source={_path}");

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
            File.Delete(file);
        return Task.CompletedTask;
    }
}
