using MassTransit;
using MassTransit.Context;
using MassTransit.Transports;

namespace Platform.Runtime.Messaging;

/// <summary>
/// A consume context, and the typed contexts it hands out, whose receive context is replaced, so
/// that what the consumer sends and publishes goes where that receive context's endpoint providers
/// say: a step's outbox (reactions), or the in-process bus (a Kafka endpoint's mediator).
/// </summary>
sealed class RedirectedConsumeContext : ConsumeContextProxy
{
    readonly Func<ReceiveContext, ReceiveContext> _redirect;

    public RedirectedConsumeContext(ConsumeContext context, Func<ReceiveContext, ReceiveContext> redirect) : base(context)
    {
        _redirect = redirect;
        ReceiveContext = redirect(context.ReceiveContext);
        PublishEndpointProvider = ReceiveContext.PublishEndpointProvider;
    }

    public override Task<ISendEndpoint> GetSendEndpoint(Uri address) => Redirected.GetSendEndpoint(this, address);

    public override bool TryGetMessage<T>(out ConsumeContext<T> consumeContext)
    {
        if (base.TryGetMessage(out ConsumeContext<T> inner))
        {
            consumeContext = new RedirectedConsumeContext<T>(inner, _redirect);
            return true;
        }
        consumeContext = null!;
        return false;
    }
}

/// <summary>The typed form of <see cref="RedirectedConsumeContext"/>.</summary>
sealed class RedirectedConsumeContext<T> : ConsumeContextScope<T> where T : class
{
    public RedirectedConsumeContext(ConsumeContext<T> context, Func<ReceiveContext, ReceiveContext> redirect) : base(context)
    {
        ReceiveContext = redirect(context.ReceiveContext);
        PublishEndpointProvider = ReceiveContext.PublishEndpointProvider;
    }

    public override Task<ISendEndpoint> GetSendEndpoint(Uri address) => Redirected.GetSendEndpoint(this, address);
}

static class Redirected
{
    // As MassTransit's own consume context does: what the consumer sends carries the consumed
    // message's conversation, its initiator and its headers.
    public static async Task<ISendEndpoint> GetSendEndpoint(ConsumeContext context, Uri address) =>
        new ConsumeSendEndpoint(await context.ReceiveContext.SendEndpointProvider.GetSendEndpoint(address).ConfigureAwait(false), context, context.RequestId);
}
