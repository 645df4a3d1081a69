using MassTransit;
using MassTransit.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Consumers;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// Retries then dead letters on a consumer endpoint. Call it first on the endpoint, before the order
/// guard's retry (also a pre-pipe filter), so the filters nest as: dead letters, then the configured
/// retry (which ignores <see cref="OutOfOrderEventException"/>), then the order guard's retry (not on Kafka), then
/// the message pipe with the attempt counter, the partitioner and the consumer. The order guard's retries thus never count as failed attempts, and
/// a message waiting for its next attempt is outside the partitioner, so other streams go on.
/// </summary>
static class RetryPipeline
{
    public static void UseRetriesAndDeadLetters(IReceiveEndpointConfigurator endpoint, IBusRegistrationContext context,
        PlatformOptions options, string consumer, string endpointName, IEnumerable<Type> messageTypes)
    {
        // UseMessageRetry adds a pre-pipe specification (it runs before the message-type pipes that
        // UseFilter and UsePartitioner build), in the order added; so the dead-letter and counting
        // filters are pre-pipe too, or the retry would sit outside the dead-letter filter.
        var store = context.GetRequiredService<DeadLetterStore>();
        var logger = context.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Runtime.DeadLetters");
        var sink = context.GetService<IDeadLetterSink>();
        var consumed = messageTypes.ToList();
        context.GetRequiredService<EndpointMessageTypes>().Add(endpointName, consumed);
        endpoint.AddPrePipeSpecification(new FilterSpecification(new DeadLetterFilter(store, consumer, endpointName, consumed, logger, sink)));
        // What faults past that filter, and what no consumer of the endpoint takes, become dead
        // letters too (not on Kafka: the consumer service deals with such records itself, and the
        // endpoint's pipeline runs on a mediator, whose caller must see the fault).
        if (options.Transport.Kind != TransportKind.Kafka)
        {
            endpoint.ConfigureError(error =>
            {
                error.UseFilter(new GenerateFaultFilter());
                error.UseFilter(new FaultedMessageFilter(store, consumer, endpointName, logger, sink));
                error.UseFilter(new ErrorTransportFilter());
            });
            endpoint.ConfigureDeadLetter(skipped =>
            {
                skipped.UseFilter(new SkippedMessageFilter(store, consumer, endpointName, logger, sink));
                skipped.UseFilter(new DeadLetterTransportFilter());
            });
            // Events from a relay of another build are read at the version they were sent.
            Messaging.EventVersionFilter.Add(endpoint, context.GetRequiredService<Platform.Events.EventTypeRegistry>(), consumed);
        }
        var intervals = options.Retries.Intervals();
        if (intervals.Count > 0)
        {
            endpoint.UseMessageRetry(retry =>
            {
                retry.Ignore<OutOfOrderEventException>();
                // Answers, not failures: the same command would be rejected again.
                retry.Ignore<CommandRejectedException>();
                retry.Ignore<CommandValidationException>();
                // A newer build's event: this build will not read it on the next attempt either.
                retry.Ignore<Messaging.UnknownEventVersionException>();
                retry.Intervals(intervals.ToArray());
            });
        }
        // A message-pipe filter (inside both retries), unlike the two above.
        endpoint.UseFilter(new AttemptCountingFilter());
    }

    /// <summary>The message types a consumer type consumes (its <c>IConsumer&lt;T&gt;</c> interfaces).</summary>
    public static IEnumerable<Type> ConsumedTypes(Type consumer) => consumer.GetInterfaces()
        .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
        .Select(i => i.GetGenericArguments()[0]);

    /// <summary>The address a dead letter is re-sent to: its queue, with the flags the runtime declared it with.</summary>
    public static Uri EndpointAddress(PlatformOptions options, string endpointName) => new("queue:" + endpointName +
        (options.Transport.Kind == TransportKind.RabbitMq && options.Transport.AutoDeleteQueues ? "?durable=false&autodelete=true" : ""));
}
