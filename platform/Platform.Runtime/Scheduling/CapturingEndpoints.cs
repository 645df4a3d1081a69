using MassTransit;
using MassTransit.Context;

namespace Platform.Runtime.Scheduling;

/// <summary>
/// An <see cref="ISendEndpoint"/> that does not send: it hands the message to the step's
/// <see cref="TransactionalOutbox"/>, which stores it in the step's transaction. The send pipe is
/// not run (it would configure a transport context that does not exist yet); the message, its
/// type, destination and the causing message's ids are what is stored and delivered.
/// </summary>
sealed class CapturingSendEndpoint(TransactionalOutbox outbox, DeliveryKind kind, Uri? destination) : ISendEndpoint
{
    public ConnectHandle ConnectSendObserver(ISendObserver observer) => new EmptyConnectHandle();

    public Task Send<T>(T message, CancellationToken cancellationToken = default) where T : class => Capture(message, typeof(T));

    public Task Send<T>(T message, IPipe<SendContext<T>> pipe, CancellationToken cancellationToken = default) where T : class =>
        Capture(message, typeof(T));

    public Task Send<T>(T message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where T : class =>
        Capture(message, typeof(T));

    public Task Send(object message, CancellationToken cancellationToken = default) => Capture(message, message.GetType());

    public Task Send(object message, Type messageType, CancellationToken cancellationToken = default) => Capture(message, messageType);

    public Task Send(object message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) =>
        Capture(message, message.GetType());

    public Task Send(object message, Type messageType, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) =>
        Capture(message, messageType);

    public Task Send<T>(object values, CancellationToken cancellationToken = default) where T : class => Unsupported<T>();

    public Task Send<T>(object values, IPipe<SendContext<T>> pipe, CancellationToken cancellationToken = default) where T : class =>
        Unsupported<T>();

    public Task Send<T>(object values, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where T : class =>
        Unsupported<T>();

    Task Capture(object message, Type messageType)
    {
        ArgumentNullException.ThrowIfNull(message);
        outbox.Capture(kind, destination, message, messageType);
        return Task.CompletedTask;
    }

    static Task Unsupported<T>() => throw new NotSupportedException(
        $"A saga or reaction step sent {typeof(T).Name} from initializer values; its outbox stores message instances: create the {typeof(T).Name} and send that.");

    sealed class EmptyConnectHandle : ConnectHandle
    {
        public void Disconnect()
        {
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>Send endpoints of a step that store what they send in its outbox.</summary>
sealed class CapturingSendEndpointProvider(TransactionalOutbox outbox) : ISendEndpointProvider
{
    public ConnectHandle ConnectSendObserver(ISendObserver observer) => new CapturingSendEndpoint(outbox, DeliveryKind.Send, null).ConnectSendObserver(observer);

    public Task<ISendEndpoint> GetSendEndpoint(Uri address) =>
        Task.FromResult<ISendEndpoint>(new CapturingSendEndpoint(outbox, DeliveryKind.Send, address));
}

/// <summary>The publish endpoint of a step that stores what it publishes in its outbox.</summary>
sealed class CapturingPublishEndpointProvider(TransactionalOutbox outbox) : IPublishEndpointProvider
{
    public ConnectHandle ConnectPublishObserver(IPublishObserver observer) =>
        new CapturingSendEndpoint(outbox, DeliveryKind.Publish, null).ConnectSendObserver(null!);

    public Task<ISendEndpoint> GetPublishSendEndpoint<T>() where T : class =>
        Task.FromResult<ISendEndpoint>(new CapturingSendEndpoint(outbox, DeliveryKind.Publish, null));
}

/// <summary>
/// The receive context a step's consume contexts are built on. MassTransit's consume contexts
/// (the saga's, the state machine's behaviour context, a consumer's) take their send and publish
/// endpoints from their receive context when they are created, so giving them this one routes
/// everything the step sends or publishes into its outbox, however deeply the contexts nest.
/// </summary>
sealed class OutboxReceiveContext(ReceiveContext context, TransactionalOutbox outbox) : ReceiveContextProxy(context)
{
    readonly CapturingSendEndpointProvider _send = new(outbox);
    readonly CapturingPublishEndpointProvider _publish = new(outbox);

    public override ISendEndpointProvider SendEndpointProvider => _send;

    public override IPublishEndpointProvider PublishEndpointProvider => _publish;
}

/// <summary>
/// The scheduler a step sees (MassTransit's <c>Schedule</c>/<c>Unschedule</c> activities): a
/// timeout becomes a row of <c>scheduled_messages</c> in the step's transaction, and cancelling
/// deletes it in the same transaction. No broker plugin is needed, so it works on every transport.
/// </summary>
sealed class OutboxScheduleProvider(TransactionalOutbox outbox, Func<Type, TimeSpan?> overrideDelay) : IScheduleMessageProvider
{
    public Task<ScheduledMessage<T>> ScheduleSend<T>(Uri destinationAddress, DateTime scheduledTime, T message, IPipe<SendContext<T>> pipe,
        CancellationToken cancellationToken) where T : class
    {
        var dueAt = overrideDelay(typeof(T)) is { } delay
            ? DateTimeOffset.UtcNow + delay
            : new DateTimeOffset(DateTime.SpecifyKind(scheduledTime, scheduledTime.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : scheduledTime.Kind));
        var token = outbox.Schedule(destinationAddress, dueAt, message, typeof(T));
        return Task.FromResult<ScheduledMessage<T>>(new MassTransit.Scheduling.ScheduledMessageHandle<T>(token, dueAt.UtcDateTime, destinationAddress, message));
    }

    public Task CancelScheduledSend(Guid tokenId, CancellationToken cancellationToken) => outbox.CancelAsync(tokenId, cancellationToken);

    public Task CancelScheduledSend(Uri destinationAddress, Guid tokenId, CancellationToken cancellationToken) =>
        outbox.CancelAsync(tokenId, cancellationToken);
}
