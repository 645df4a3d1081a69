using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Outbox;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Consumers;

/// <summary>
/// Records, for every <see cref="IdempotentEventConsumer"/> the runtime hosts and every event type it
/// handles, where its order guard begins, the first time the consumer runs anywhere handling that
/// type (<see cref="SqlEventStore.RecordInboxStartAsync"/>): the position the outbox relay has
/// published up to. Started after the bus (its queues exist) and before this process's relay, so
/// every event this process publishes from then on reaches the consumer, and the guard never waits
/// for one that was published before the consumer existed or handled its type.
/// </summary>
sealed class InboxStarts(IServiceProvider services, SqlEventStore store, PlatformOptions options, ILogger<InboxStarts> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var relayCheckpoint = new OutboxRelayOptions().CheckpointName;
        using var scope = services.CreateScope();
        foreach (var type in options.EventConsumers.Where(typeof(IdempotentEventConsumer).IsAssignableFrom))
        {
            IdempotentEventConsumer consumer;
            try
            {
                consumer = (IdempotentEventConsumer)scope.ServiceProvider.GetRequiredService(type);
            }
            catch (Exception exception) when (exception is InvalidOperationException or MassTransit.ConfigurationException)
            {
                // A constructor that needs a consume context: its guard waits for every earlier event, as before.
                logger.LogWarning(exception, "Could not create {Consumer} at start; its order guard has no start and waits for every earlier event of a stream",
                    type.FullName);
                continue;
            }
            await store.RecordInboxStartAsync(consumer.InboxName, consumer.HandledTypes, relayCheckpoint, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
