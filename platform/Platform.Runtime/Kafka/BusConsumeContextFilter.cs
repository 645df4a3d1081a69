using MassTransit;
using MassTransit.Context;
using Platform.Runtime.Messaging;

namespace Platform.Runtime.Kafka;

/// <summary>
/// The first filter of every Kafka endpoint's mediator. A mediator has no transport: what a
/// consumer publishes or sends from its consume context would go back into the same mediator, and
/// its publish observers are not called. This filter hands the consumers a context that publishes
/// on the runtime's in-process bus instead, as on the other transports, and a publish leaves on
/// Kafka through <see cref="KafkaPublishObserver"/>; a send to a queue goes to the queue's command
/// topic (<see cref="KafkaSendEndpointProvider"/>). Sagas and reactions are unaffected: their
/// outbox captures what they send first.
/// </summary>
sealed class BusConsumeContextFilter : IFilter<ConsumeContext>
{
    readonly Func<ReceiveContext, ReceiveContext> _redirect;

    public BusConsumeContextFilter(IBus bus, ISendEndpointProvider sends) =>
        _redirect = receive => new BusReceiveContext(receive, bus, sends); // one delegate, not one per record

    public Task Send(ConsumeContext context, IPipe<ConsumeContext> next) => next.Send(new RedirectedConsumeContext(context, _redirect));

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-kafka-bus-endpoints");
}

/// <summary>A receive context whose consumers publish on the bus and send through <paramref name="sends"/>.</summary>
sealed class BusReceiveContext(ReceiveContext context, IBus bus, ISendEndpointProvider sends) : ReceiveContextProxy(context)
{
    public override ISendEndpointProvider SendEndpointProvider => sends;

    public override IPublishEndpointProvider PublishEndpointProvider => bus;
}
