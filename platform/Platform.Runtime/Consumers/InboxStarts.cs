using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Outbox;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Consumers;

/// <summary>
/// Records, for every <see cref="IdempotentEventConsumer"/> the runtime hosts, where its order guard
/// begins, the first time the consumer runs anywhere (<see cref="SqlEventStore.RecordInboxStartAsync"/>):
/// the position the outbox relay has published up to. Started after the bus (its queues exist) and
/// before this process's relay, so every event this process publishes from then on reaches the
/// consumer, and the guard never waits for one that was published before the consumer existed.
/// </summary>
sealed class InboxStarts(IServiceProvider services, SqlEventStore store, PlatformOptions options, ILogger<InboxStarts> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var relayCheckpoint = new OutboxRelayOptions().CheckpointName;
        using var scope = services.CreateScope();
        foreach (var type in options.EventConsumers.Where(typeof(IdempotentEventConsumer).IsAssignableFrom))
            await store.RecordInboxStartAsync(NameOf(scope.ServiceProvider, type), relayCheckpoint, cancellationToken).ConfigureAwait(false);
    }

    // The consumer's own name (it may override it); its type's name, the default, when it cannot be
    // made outside a message (a constructor that takes the consume context).
    string NameOf(IServiceProvider scope, Type type)
    {
        try
        {
            return ((IdempotentEventConsumer)scope.GetRequiredService(type)).InboxName;
        }
        catch (Exception exception) when (exception is InvalidOperationException or MassTransit.ConfigurationException)
        {
            logger.LogWarning(exception, "Could not create {Consumer} at start to read its inbox name; its order guard begins under its type's name",
                type.FullName);
            return type.FullName!;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
