using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Schema;
using Platform.Runtime.Configuration;
using Platform.Testing;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>Platform:Inbox:RetainFor</c>: a runtime deletes expired message inbox rows by itself.</summary>
public sealed class InboxCleanupTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_runtime_with_a_retention_deletes_the_message_inbox_rows_older_than_it(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "runtime");
        await using var host = await RuntimeHost.StartOnAsync(database, Transport.InMemory, configure: cfg =>
        {
            cfg.Inbox.RetainFor = TimeSpan.FromDays(7);
            cfg.Inbox.CleanupInterval = TimeSpan.FromMilliseconds(100);
        });
        var (expired, kept) = (Guid.NewGuid(), Guid.NewGuid());
        await using (var context = host.EventStore.CreateDbContext())
        {
            context.ProcessedMessages.Add(new ProcessedMessageRecord { Consumer = "saga:cleanup", MessageId = expired, ProcessedAt = DateTimeOffset.UtcNow.AddDays(-8) });
            context.ProcessedMessages.Add(new ProcessedMessageRecord { Consumer = "saga:cleanup", MessageId = kept, ProcessedAt = DateTimeOffset.UtcNow.AddDays(-6) });
            await context.SaveChangesAsync();
        }

        await Eventually.HoldsAsync(async () =>
        {
            await using var context = host.EventStore.CreateDbContext();
            return !context.ProcessedMessages.Any(m => m.MessageId == expired);
        }, "the expired row deleted");
        await using (var context = host.EventStore.CreateDbContext())
            Assert.True(context.ProcessedMessages.Any(m => m.MessageId == kept));
    }

    [Fact]
    public void a_retention_that_is_not_positive_is_refused_with_its_key()
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<InvalidOperationException>(() => services.AddPlatform(cfg =>
        {
            cfg.UseSqlite("Data Source=unused.db");
            cfg.Inbox.RetainFor = TimeSpan.Zero;
        }));
        Assert.Contains("Platform:Inbox:RetainFor must be positive", error.Message, StringComparison.Ordinal);
    }
}
