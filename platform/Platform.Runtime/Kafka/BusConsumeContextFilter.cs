using MassTransit;
using MassTransit.Context;
using Platform.Runtime.Messaging;

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
    public Task Send(ConsumeContext context, IPipe<ConsumeContext> next) =>
        next.Send(new RedirectedConsumeContext(context, receive => new BusReceiveContext(receive, bus)));

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-kafka-bus-endpoints");
}

/// <summary>A receive context whose consumers send and publish on the bus.</summary>
sealed class BusReceiveContext(ReceiveContext context, IBus bus) : ReceiveContextProxy(context)
{
    public override ISendEndpointProvider SendEndpointProvider => bus;

    public override IPublishEndpointProvider PublishEndpointProvider => bus;
}
