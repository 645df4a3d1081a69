using System.Text.Json;
using MassTransit;
using MassTransit.Context;
using Platform.Events;
using Platform.Messaging;
using Platform.Runtime.DeadLetters;

namespace Platform.Runtime.Messaging;

/// <summary>
/// Reads an event sent by a relay of another build at the version it was sent (RabbitMQ and in
/// memory; Kafka records carry their payload's version and are read by it already). MassTransit
/// hands the consumer the message deserialized as this build's type, whatever shape it came in: an
/// event of an older version would lose what its upcast gives (a renamed field, a default), one of
/// a newer version what this build does not know. So, by <see cref="PlatformHeaders.PayloadVersion"/>:
/// the current version passes as it came; an older one is read as that version's generated record
/// and upcast (<see cref="EventTypeDescriptor.Upcast"/>); a newer one fails with
/// <see cref="UnknownEventVersionException"/>, which is not retried: its dead letter keeps the
/// message as sent, and the newer build replays it by itself. A message without the header (from
/// a relay before it) is read as the current version, as before.
/// </summary>
/// <typeparam name="T">The event type's current CLR type.</typeparam>
sealed class EventVersionFilter<T>(EventTypeDescriptor descriptor) : IFilter<ConsumeContext<T>>
    where T : class
{
    public Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (!PayloadVersionHeader.TryRead(context.Headers, out var version) || version == descriptor.SchemaVersion)
            return next.Send(context);
        return SendAsync(context, next, version);
    }

    async Task SendAsync(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next, int version)
    {
        // The letter of a delivery that fails from here keeps the message as sent, with its version.
        if (context.TryGetPayload<DeliveryAttempts>(out var delivery) && context.SerializerContext.TryGetMessage(typeof(JsonElement), out var sent))
            delivery.AsSent = (JsonElement)sent;
        T message;
        try
        {
            message = Read(context, version);
        }
        catch (Exception exception)
        {
            // As a consumer's failure is: else, with no consumer run, MassTransit would take the
            // message for one no consumer takes once its dead letter is written.
            await context.NotifyFaulted(context, TimeSpan.Zero, nameof(EventVersionFilter), exception).ConfigureAwait(false);
            throw;
        }
        await next.Send(new MessageConsumeContext<T>(context, message)).ConfigureAwait(false);
    }

    T Read(ConsumeContext<T> context, int version)
    {
        if (version > descriptor.SchemaVersion || descriptor.ClrTypeOf(version) is not { } type)
            throw new UnknownEventVersionException(descriptor.TypeName, version, descriptor.SchemaVersion);
        if (!context.SerializerContext.TryGetMessage(type, out var message))
            throw new JsonException($"{descriptor.TypeName}: the message is not a schema version {version} {type.Name} in JSON");
        return (T)descriptor.Upcast(message);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-event-version");
}

/// <summary>Puts the filter on an endpoint.</summary>
static class EventVersionFilter
{
    /// <summary>Adds the filter for each consumed type that is an event type of this build.</summary>
    public static void Add(IReceiveEndpointConfigurator endpoint, EventTypeRegistry registry, IEnumerable<Type> messageTypes)
    {
        var add = typeof(EventVersionFilter).GetMethod(nameof(AddFor), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        foreach (var type in messageTypes)
            if (registry.TryGet(type, out var descriptor))
                add.MakeGenericMethod(type).Invoke(null, [endpoint, descriptor]);
    }

    static void AddFor<T>(IReceiveEndpointConfigurator endpoint, EventTypeDescriptor descriptor) where T : class =>
        endpoint.AddPipeSpecification(new Configuration.FilterSpecification<T>(new EventVersionFilter<T>(descriptor)));
}
