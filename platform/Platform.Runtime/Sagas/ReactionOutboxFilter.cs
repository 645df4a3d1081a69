using MassTransit;
using MassTransit.Context;
using Platform.EventStore.Storage;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>
/// Gives a generated reaction the same guarantees as a saga step: in one transaction of the store's
/// database the inbox row (<c>processed_messages</c>, consumer <c>reaction:{name}</c>) and the
/// commands the reaction sends (<c>scheduled_messages</c>) commit together; they are delivered after
/// the commit (or by the poller after a crash). A redelivered event finds its inbox row and sends nothing.
/// </summary>
sealed class ReactionOutboxFilter(SqlEventStore store, SagaRuntime runtime, string name) : IFilter<ConsumeContext>
{
    readonly string _inbox = "reaction:" + name;

    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        var cancellationToken = context.CancellationToken;
        await runtime.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ScheduledMessageRow> outgoing;
        await using (var transaction = await store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            if (context.MessageId is { } messageId
                && !await store.TryMarkProcessedAsync(_inbox, messageId, transaction, cancellationToken).ConfigureAwait(false))
            {
                SagaTelemetry.DuplicatesSkipped.Add(1);
                return;
            }
            var outbox = new TransactionalOutbox(_inbox, null, context, transaction.Connection, transaction.Transaction, runtime.Routes,
                runtime.Options.Sagas.LeftoverDelay);
            await next.Send(new OutboxConsumeContext(context, outbox)).ConfigureAwait(false);
            await outbox.FlushAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            outgoing = outbox.Outgoing;
        }
        SagaTelemetry.ReactionsCommitted.Add(1);
        await runtime.DeliverAfterCommitAsync(outgoing, cancellationToken).ConfigureAwait(false);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-reaction-outbox");
}

/// <summary>A consume context whose sends and publishes, and those of the typed contexts it hands out, go to an outbox.</summary>
sealed class OutboxConsumeContext : ConsumeContextProxy
{
    readonly TransactionalOutbox _outbox;

    public OutboxConsumeContext(ConsumeContext context, TransactionalOutbox outbox) : base(context)
    {
        _outbox = outbox;
        ReceiveContext = new OutboxReceiveContext(context.ReceiveContext, outbox);
        PublishEndpointProvider = ReceiveContext.PublishEndpointProvider;
    }

    public override Task<ISendEndpoint> GetSendEndpoint(Uri address) => ReceiveContext.SendEndpointProvider.GetSendEndpoint(address);

    public override bool TryGetMessage<T>(out ConsumeContext<T> consumeContext)
    {
        if (base.TryGetMessage(out ConsumeContext<T> inner))
        {
            consumeContext = new OutboxConsumeContext<T>(inner, _outbox);
            return true;
        }
        consumeContext = null!;
        return false;
    }
}

/// <summary>The typed form of <see cref="OutboxConsumeContext"/>.</summary>
sealed class OutboxConsumeContext<T> : ConsumeContextScope<T> where T : class
{
    public OutboxConsumeContext(ConsumeContext<T> context, TransactionalOutbox outbox) : base(context)
    {
        ReceiveContext = new OutboxReceiveContext(context.ReceiveContext, outbox);
        PublishEndpointProvider = ReceiveContext.PublishEndpointProvider;
    }

    public override Task<ISendEndpoint> GetSendEndpoint(Uri address) => ReceiveContext.SendEndpointProvider.GetSendEndpoint(address);
}
