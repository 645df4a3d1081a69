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
/// type (<see cref="SqlEventStore.RecordInboxStartAsync"/>): the position the outbox relay had
/// published up to before the bus made the consumer's queue. Every event up to there was published
/// before the queue existed and never reaches the consumer, so its guard does not wait for them.
/// The position is read before any hosted service starts (<see cref="StartingAsync"/>; the bus
/// makes its queues in its own start) and recorded once the queues exist, before this process's
/// relay starts. Read after the queues were made, it would also take in the events another
/// instance's relay published meanwhile, which do reach the queue: the guard would not wait for
/// such an event, a later event of its stream could go first, and the event itself would then
/// count as a redelivery and never be applied. Read before, such an event is waited for; an event
/// published in between that the queue did not get is waited for in vain and dead-lettered after
/// the guard's retries, with its stream's next events, which replaying them clears (docs/runtime.md).
/// It also lists the consumers in <see cref="OrderedConsumers"/>, for the replay service.
/// </summary>
sealed class InboxStarts(IServiceProvider services, SqlEventStore store, PlatformOptions options, OrderedConsumers ordered, ILogger<InboxStarts> logger)
    : IHostedLifecycleService
{
    long? _publishedBeforeQueues;

    public async Task StartingAsync(CancellationToken cancellationToken) =>
        _publishedBeforeQueues = await store.GetCheckpointAsync(new OutboxRelayOptions().CheckpointName, cancellationToken).ConfigureAwait(false);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var published = _publishedBeforeQueues ?? throw new InvalidOperationException("InboxStarts.StartingAsync did not run before StartAsync.");
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
            ordered.Add(type, consumer);
            await store.RecordInboxStartAsync(consumer.InboxName, consumer.HandledTypes, published, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
