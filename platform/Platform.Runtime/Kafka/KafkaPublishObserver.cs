using MassTransit;

namespace Platform.Runtime.Kafka;

/// <summary>
/// Writes what a consumer publishes on the in-process bus (a service's reply, an alert) to its
/// type's Kafka topic, with its ids and headers, and holds the publish until the cluster has it, so
/// that the subscribers in every instance get it. On Kafka the in-process endpoints bind no message
/// types, so the in-process publish itself reaches nobody: Kafka is the only way in. MassTransit's
/// own messages (faults) are left alone; stored events never pass here (the outbox relay writes
/// them to the event topics itself).
/// </summary>
/// <remarks>
/// An observer, not a publish filter: the bus's publish filters run before the caller's own pipe,
/// so a filter sees a message id the caller then replaces (a service that replies with an id
/// derived from the command's, so its redelivered reply is recognised). <c>PrePublish</c> runs
/// after both, and a failure there fails the publish.
/// </remarks>
sealed class KafkaPublishObserver(KafkaMessageProducer producer) : IPublishObserver
{
    public Task PrePublish<T>(PublishContext<T> context) where T : class
    {
        if (typeof(T).Namespace?.StartsWith("MassTransit", StringComparison.Ordinal) == true)
            return Task.CompletedTask;
        return producer.PublishAsync(KafkaMessage.From(context), context.CancellationToken);
    }

    public Task PostPublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
