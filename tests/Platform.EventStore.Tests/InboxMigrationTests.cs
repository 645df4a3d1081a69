using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.Persistence;
using Platform.Testing;
using Xunit;

namespace Platform.EventStore.Tests;

// Ordered consumers kept a processed_messages row per event before consumer_streams existed. A
// store migrated from then must let them go on where they were: neither re-running their effects
// for events they had processed nor holding back the next ones.
public sealed class InboxMigrationTests
{
    // What `dotnet ef migrations script` hands a DBA who applies the schema by hand: every
    // migration, custom SQL included, in one script that must run as it is.
    // The idempotent form (PostgreSQL only: EF Core cannot write one for SQLite) runs twice.
    [SkippableTheory]
    [InlineData("sqlite", false)]
    [InlineData("postgres", false)]
    [InlineData("postgres", true)]
    public async Task the_migrations_as_one_sql_script_build_the_schema_of_an_empty_database(string provider, bool idempotent)
    {
        await using var database = await EmptyDatabase.CreateAsync(provider, "migscript");
        await using var store = new Storage.SqlEventStore(database.Options, Registries.Current());
        string script;
        int migrations;
        await using (var context = store.CreateDbContext())
        {
            script = context.GetService<IMigrator>().GenerateScript(
                options: idempotent ? MigrationsSqlGenerationOptions.Idempotent : MigrationsSqlGenerationOptions.Default);
            migrations = context.Database.GetMigrations().Count();
            await context.Database.OpenConnectionAsync();
            for (var run = 0; run < (idempotent ? 2 : 1); run++)
            {
                await using var apply = context.Database.GetDbConnection().CreateCommand();
                apply.CommandText = script;
                await apply.ExecuteNonQueryAsync();
            }
        }

        await using (var context = store.CreateDbContext())
        {
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
            Assert.Equal(migrations, (await context.Database.GetAppliedMigrationsAsync()).Count());
        }
        Assert.True(migrations >= 2, $"{migrations} migrations");
        // The store works on the scripted schema: an append and an ordered consumer's claim.
        await store.AppendAsync("cart-a", "cart", ExpectedVersion.NoStream, [EventData.Create(new ItemAdded("sku-1", 1))]);
        var appended = await store.ReadStreamAsync("cart-a").ToListAsync();
        await using var transaction = await store.BeginTransactionAsync();
        Assert.Equal(new(true, 0), await store.TryMarkProcessedInOrderAsync("ordered", "cart-a", 1, [appended[0].TypeName], transaction));
    }

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task the_per_stream_inbox_starts_where_the_per_event_inbox_left_off(string provider)
    {
        await using var database = await EmptyDatabase.CreateAsync(provider, "inboxmig");
        await using var store = new Storage.SqlEventStore(database.Options, Registries.Current());
        await using (var context = store.CreateDbContext())
            await context.GetService<IMigrator>().MigrateAsync("InitialCreate");
        EventData[] Items(int count) => Enumerable.Range(1, count).Select(i => EventData.Create(new ItemAdded($"sku-{i}", i))).ToArray();
        await store.AppendAsync("cart-a", "cart", ExpectedVersion.NoStream, Items(3));
        await store.AppendAsync("cart-b", "cart", ExpectedVersion.NoStream, Items(2));
        var a = await store.ReadStreamAsync("cart-a").ToListAsync();
        var b = await store.ReadStreamAsync("cart-b").ToListAsync();
        foreach (var processed in new[] { a[0], a[1], b[0] })
            Assert.True(await store.TryMarkProcessedAsync("ordered", processed.EventId));

        await store.MigrateAsync();

        Assert.Equal(2, await store.GetConsumerStreamVersionAsync("ordered", "cart-a"));
        Assert.Equal(1, await store.GetConsumerStreamVersionAsync("ordered", "cart-b"));
        string[] handled = [a[0].TypeName];
        await using var transaction = await store.BeginTransactionAsync();
        Assert.True((await store.TryMarkProcessedInOrderAsync("ordered", "cart-a", 2, handled, transaction)).IsRedelivery);
        Assert.Equal(new(true, 0), await store.TryMarkProcessedInOrderAsync("ordered", "cart-a", 3, handled, transaction));
        Assert.Equal(new(true, 0), await store.TryMarkProcessedInOrderAsync("ordered", "cart-b", 2, handled, transaction));
    }

    /// <summary>An empty database of either kind, dropped or deleted when disposed.</summary>
    sealed class EmptyDatabase(string provider, string connectionString) : IAsyncDisposable
    {
        public EventStoreOptions Options { get; } = provider == "postgres"
            ? new EventStoreOptions().UsePostgres(connectionString)
            : new EventStoreOptions().UseSqlite(connectionString);

        public static async Task<EmptyDatabase> CreateAsync(string provider, string name) => new(provider, provider == "postgres"
            ? await RealServices.CreatePostgresDatabaseAsync(name)
            : $"Data Source={Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():N}.db")}");

        public async ValueTask DisposeAsync()
        {
            if (provider == "postgres")
                await RealServices.DropPostgresDatabaseAsync(connectionString);
            else
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                File.Delete(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString).DataSource);
            }
        }
    }
}
