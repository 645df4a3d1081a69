using System.Collections.Concurrent;
using System.Reflection;
using MassTransit;
using MassTransit.Context;
using MassTransit.Initializers;
using MassTransit.Observables;
using MassTransit.Transports;

namespace Platform.Runtime.Kafka;

/// <summary>
/// Where a Kafka endpoint's consumers and the dead-letter replay send: a queue's address
/// (<c>queue:name</c>, or one of this runtime's endpoints on the in-process bus) gets a
/// <see cref="KafkaSendEndpoint"/>, so the message is written to the queue's command topic and
/// taken by that queue's consumer group, in whichever instance, and survives a crash of this one.
/// Any other address (a request's response address, the bus itself) is the in-process bus's.
/// One per runtime on Kafka, in its services.
/// </summary>
public sealed class KafkaSendEndpointProvider : ISendEndpointProvider
{
    readonly IBus _bus;
    readonly KafkaMessageProducer _producer;
    readonly IReadOnlySet<string> _queues;

    /// <summary>Creates the provider.</summary>
    /// <param name="bus">The in-process bus, for every address that is not one of <paramref name="queues"/>.</param>
    /// <param name="producer">Writes the records.</param>
    /// <param name="queues">The names of this runtime's Kafka endpoints.</param>
    public KafkaSendEndpointProvider(IBus bus, KafkaMessageProducer producer, IReadOnlySet<string> queues) =>
        (_bus, _producer, _queues) = (bus, producer, queues);

    readonly ConcurrentDictionary<Uri, ISendEndpoint> _endpoints = new();
    readonly SendObservable _observers = new();

    /// <inheritdoc />
    public Task<ISendEndpoint> GetSendEndpoint(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return IsQueue(address)
            ? Task.FromResult(_endpoints.GetOrAdd(address, a => new KafkaSendEndpoint(a, _producer, _observers)))
            : _bus.GetSendEndpoint(address);
    }

    /// <inheritdoc />
    public ConnectHandle ConnectSendObserver(ISendObserver observer) => _observers.Connect(observer);

    bool IsQueue(Uri address)
    {
        if (string.Equals(address.Scheme, "queue", StringComparison.OrdinalIgnoreCase))
            return true;
        if (!address.IsAbsoluteUri || !string.Equals(address.Scheme, _bus.Address.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(address.Authority, _bus.Address.Authority, StringComparison.OrdinalIgnoreCase))
            return false;
        var path = address.AbsolutePath.TrimEnd('/');
        return _queues.Contains(path[(path.LastIndexOf('/') + 1)..]);
    }
}

/// <summary>
/// Sends to a queue's command topic on Kafka (<see cref="KafkaMessageProducer.SendAsync"/>): the
/// caller's pipe runs on a send context first (ids, headers), and the send returns once the
/// cluster has the record.
/// </summary>
sealed class KafkaSendEndpoint(Uri address, KafkaMessageProducer producer, SendObservable observers) : ISendEndpoint
{
    static readonly MethodInfo SendObject = typeof(KafkaSendEndpoint).GetMethod(nameof(SendAs), BindingFlags.NonPublic | BindingFlags.Instance)!;
    static readonly ConcurrentDictionary<Type, Func<KafkaSendEndpoint, object, IPipe<SendContext>?, CancellationToken, Task>> ByType = new();

    public async Task Send<T>(T message, IPipe<SendContext<T>>? pipe, CancellationToken cancellationToken = default) where T : class
    {
        ArgumentNullException.ThrowIfNull(message);
        var context = new MessageSendContext<T>(message, cancellationToken) { DestinationAddress = address };

        // As MassTransit's transports do: a consume context's adapter (conversation, initiator,
        // request id) first, then the caller's pipe.
        if (pipe is ISendContextPipe adapter)
            await adapter.Send(context).ConfigureAwait(false);
        if (pipe is not null && pipe.IsNotEmpty())
            await pipe.Send(context).ConfigureAwait(false);
        var record = KafkaMessage.From(context);
        if (observers.Count > 0)
            await observers.PreSend(context).ConfigureAwait(false);
        try
        {
            await producer.SendAsync(address, record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (observers.Count > 0)
        {
            await observers.SendFault(context, exception).ConfigureAwait(false);
            throw;
        }
        if (observers.Count > 0)
            await observers.PostSend(context).ConfigureAwait(false);
    }

    public Task Send<T>(T message, CancellationToken cancellationToken = default) where T : class =>
        Send(message, (IPipe<SendContext<T>>?)null, cancellationToken);

    public Task Send<T>(T message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where T : class =>
        Send<T>(message, (IPipe<SendContext<T>>)pipe, cancellationToken);

    public Task Send(object message, CancellationToken cancellationToken = default) =>
        Send(message, MessageType(message), null!, cancellationToken);

    public Task Send(object message, Type messageType, CancellationToken cancellationToken = default) =>
        Send(message, messageType, null!, cancellationToken);

    public Task Send(object message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) =>
        Send(message, MessageType(message), pipe, cancellationToken);

    public Task Send(object message, Type messageType, IPipe<SendContext> pipe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(messageType);
        var send = ByType.GetOrAdd(messageType, type => SendObject.MakeGenericMethod(type)
            .CreateDelegate<Func<KafkaSendEndpoint, object, IPipe<SendContext>?, CancellationToken, Task>>());
        return send(this, message, pipe, cancellationToken);
    }

    public Task Send<T>(object values, CancellationToken cancellationToken = default) where T : class =>
        Send(values, (IPipe<SendContext<T>>?)null, cancellationToken);

    public async Task Send<T>(object values, IPipe<SendContext<T>>? pipe, CancellationToken cancellationToken = default) where T : class
    {
        var (message, initialized) = await MessageInitializerCache<T>.InitializeMessage(values, pipe!, cancellationToken).ConfigureAwait(false);
        await Send(message, initialized, cancellationToken).ConfigureAwait(false);
    }

    public Task Send<T>(object values, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where T : class =>
        Send<T>(values, (IPipe<SendContext<T>>)pipe, cancellationToken);

    public ConnectHandle ConnectSendObserver(ISendObserver observer) => observers.Connect(observer);

    Task SendAs<T>(object message, IPipe<SendContext>? pipe, CancellationToken cancellationToken) where T : class =>
        Send((T)message, pipe!, cancellationToken);

    static Type MessageType(object message) => (message ?? throw new ArgumentNullException(nameof(message))).GetType();
}
