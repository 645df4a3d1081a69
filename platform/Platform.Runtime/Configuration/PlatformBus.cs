using System.Text;
using MassTransit;
using Platform.Messaging;
using Platform.Runtime.Commands;
using Platform.Runtime.Consumers;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Configuration;

/// <summary>One receive endpoint of the runtime: its queue and how it is configured.</summary>
/// <param name="Queue">The queue's name (on Kafka, also the consumer group's).</param>
/// <param name="Configure">Retries, dead letters, partitioning and the consumer or saga.</param>
sealed record PlatformEndpoint(string Queue, Action<IReceiveEndpointConfigurator> Configure);

/// <summary>
/// The MassTransit side of <c>AddPlatform</c>: one command queue with a consumer per command type,
/// and one queue per event consumer, partitioned by stream id.
/// </summary>
static class PlatformBus
{
    public static void AddConsumers(IBusRegistrationConfigurator bus, PlatformOptions options, DomainCatalog catalog)
    {
        foreach (var command in catalog.CommandTypes)
            bus.AddConsumer(typeof(CommandConsumer<>).MakeGenericType(command));
        foreach (var consumer in options.EventConsumers)
            bus.AddConsumer(consumer);
        foreach (var consumer in options.MessageConsumers)
            bus.AddConsumer(consumer);
    }

    /// <summary>Configures every endpoint of <see cref="Endpoints"/> on the bus.</summary>
    public static void ConfigureEndpoints(IBusRegistrationContext context, IReceiveConfigurator bus, PlatformOptions options,
        DomainCatalog catalog, Action<IReceiveEndpointConfigurator>? transportSpecific)
    {
        foreach (var endpoint in Endpoints(context, options, catalog, transportSpecific))
            bus.ReceiveEndpoint(endpoint.Queue, endpoint.Configure);
    }

    /// <summary>
    /// Every receive endpoint of the runtime, as a configuration that runs on a bus's receive
    /// endpoint or (on Kafka) on the endpoint's own mediator, so both get the same pipeline.
    /// </summary>
    public static IEnumerable<PlatformEndpoint> Endpoints(IBusRegistrationContext context, PlatformOptions options,
        DomainCatalog catalog, Action<IReceiveEndpointConfigurator>? transportSpecific)
    {
        var transport = options.Transport;
        yield return new PlatformEndpoint(options.CommandQueueName, endpoint =>
        {
            transportSpecific?.Invoke(endpoint);
            RetryPipeline.UseRetriesAndDeadLetters(endpoint, context, options, "commands", options.CommandQueueName, catalog.CommandTypes);
            foreach (var command in catalog.CommandTypes)
                endpoint.ConfigureConsumer(context, typeof(CommandConsumer<>).MakeGenericType(command));
        });

        foreach (var endpoint in Sagas.SagaRegistration.Endpoints(context, options, catalog, transportSpecific))
            yield return endpoint;

        foreach (var consumer in options.EventConsumers)
        {
            yield return new PlatformEndpoint(options.EventQueueName(consumer), endpoint =>
            {
                transportSpecific?.Invoke(endpoint);
                RetryPipeline.UseRetriesAndDeadLetters(endpoint, context, options, consumer.FullName!, options.EventQueueName(consumer), RetryPipeline.ConsumedTypes(consumer));
                endpoint.ConfigureConsumer(context, consumer);
                // Per-aggregate order with prefetch above one: the relay publishes a stream's
                // events in version order and the partitioner runs one stream's messages one at a
                // time while other streams run in parallel. It does not keep queue order (prefetched
                // messages reach it from concurrent tasks), so IdempotentEventConsumer's order guard
                // rejects an event that overtook its predecessor with OutOfOrderEventException.
                //
                // On Kafka the consumer group hands a stream's records over one at a time, each
                // after its predecessor committed, and caps what is in flight itself: a partitioner
                // and a limit here would only cost, and so would the order guard's retry, since no
                // predecessor can arrive after its successor (the guard then only meets one that was
                // dead-lettered, and its successor is dead-lettered at once, not after the wait).
                // (The in-process endpoint then takes only replayed dead letters, one at a time.)
                if (transport.Kind == TransportKind.Kafka)
                    return;
                // The retry sits outside the partitioner: the rejected event leaves its partition,
                // so the predecessor queued behind it can run, and comes back after a short wait.
                endpoint.UseMessageRetry(retry =>
                {
                    retry.Handle<OutOfOrderEventException>();
                    // The first retry at once: the rejected event joins its partition's queue behind
                    // the predecessor it overtook, which is usually there already.
                    retry.Incremental(transport.OutOfOrderRetries, TimeSpan.Zero, TimeSpan.FromMilliseconds(20));
                });
                endpoint.PrefetchCount = transport.PrefetchCount;
                endpoint.ConcurrentMessageLimit = transport.PrefetchCount;
                // One partitioner for the endpoint: given a partition count, MassTransit builds a
                // partitioner per message type's pipe, and events of different types of one stream
                // then ran at the same time (the two-instance test counted 60 such overlaps).
                var partitioner = endpoint.CreatePartitioner(transport.Partitions);
                endpoint.UsePartitioner<ConsumeContext>(partitioner,
                    message => message.Headers.Get<string>(PlatformHeaders.StreamId) ?? "", Encoding.UTF8);
            });
        }
    }
}
