using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Events;
using Platform.Persistence;
using Xunit;

namespace Platform.EventStore.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public async Task add_event_store_registers_one_store_with_the_registered_event_types()
    {
        var path = Path.Combine(Path.GetTempPath(), $"registration-{Guid.NewGuid():N}.db");
        var services = new ServiceCollection();
        services.AddSingleton<EventTypeDescriptor>(new ItemAddedDescriptor());
        services.AddSingleton<EventTypeDescriptor>(new CounterIncrementedDescriptor());
        services.AddEventStore(o => o.UseSqlite($"Data Source={path}"));

        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<SqlEventStore>();
            Assert.Same(store, provider.GetRequiredService<IEventStore>());
            Assert.Same(store, provider.GetRequiredService<IAggregateStore>());
            Assert.True(store.Registry.TryGet("counter.incremented", out _));
            await store.MigrateAsync();
            await store.AppendAsync("s", "t", ExpectedVersion.NoStream, [EventData.Create(new CounterIncremented(1))]);
            Assert.Equal(1, await store.GetStreamVersionAsync("s"));
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(path);
    }

    [Fact]
    public void add_event_store_without_a_database_says_how_to_choose_one()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddEventStore(_ => { }));
        Assert.Contains("UsePostgres", error.Message);
    }
}
