using MassTransit;
using MassTransit.Context;

namespace Platform.Runtime.Kafka;

/// <summary>
/// The first filter of every Kafka endpoint's mediator. A mediator has no transport: what a
/// consumer publishes or sends from its consume context would go back into the same mediator, and
/// its publish observers are not called. This filter hands the consumers a context that publishes
/// and sends on the runtime's in-process bus instead, as on the other transports: a publish leaves
/// on Kafka through <see cref="KafkaPublishObserver"/>, a send reaches the queue's in-process
/// endpoint. Sagas and reactions are unaffected: their outbox captures what they send first.
/// </summary>
sealed class BusConsumeContextFilter(IBus bus) : IFilter<ConsumeContext>
{
    public Task Send(ConsumeContext context, IPipe<ConsumeContext> next) => next.Send(new BusConsumeContext(context, bus));

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-kafka-bus-endpoints");
}

/// <summary>A consume context, and the typed contexts it hands out, that send and publish on the bus.</summary>
sealed class BusConsumeContext : ConsumeContextProxy
{
    readonly IBus _bus;

    public BusConsumeContext(ConsumeContext context, IBus bus) : base(context)
    {
        _bus = bus;
        ReceiveContext = new BusReceiveContext(context.ReceiveContext, bus);
        PublishEndpointProvider = bus;
    }

    public override Task<ISendEndpoint> GetSendEndpoint(Uri address) => _bus.GetSendEndpoint(address);

    public override bool TryGetMessage<T>(out ConsumeContext<T> consumeContext)
    {
        if (base.TryGetMessage(out ConsumeContext<T> inner))
        {
            consumeContext = new BusConsumeContext<T>(inner, _bus);
            return true;
        }
        consumeContext = null!;
        return false;
    }
}

/// <summary>The typed form of <see cref="BusConsumeContext"/>.</summary>
sealed class BusConsumeContext<T> : ConsumeContextScope<T> where T : class
{
    readonly IBus _bus;

    public BusConsumeContext(ConsumeContext<T> context, IBus bus) : base(context)
    {
        _bus = bus;
        ReceiveContext = new BusReceiveContext(context.ReceiveContext, bus);
        PublishEndpointProvider = bus;
    }

    public override Task<ISendEndpoint> GetSendEndpoint(Uri address) => _bus.GetSendEndpoint(address);
}

sealed class BusReceiveContext(ReceiveContext context, IBus bus) : ReceiveContextProxy(context)
{
    public override ISendEndpointProvider SendEndpointProvider => bus;

    public override IPublishEndpointProvider PublishEndpointProvider => bus;
}
