using MassTransit;
using Platform.EventStore.Storage;
using Platform.Runtime.Messaging;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>
/// Gives a generated reaction, or a message consumer a service added, the same guarantees as a
/// saga step: in one transaction of the store's database the inbox row (<c>processed_messages</c>,
/// consumer <paramref name="inbox"/>: <c>reaction:{name}</c>, <c>consumer:{type}</c>) and the
/// messages the consumer sends or publishes (<c>scheduled_messages</c>) commit together; they are
/// delivered after the commit (or by the poller after a crash). A redelivered message finds its
/// inbox row and sends nothing.
/// </summary>
sealed class InboxOutboxFilter(SqlEventStore store, SagaRuntime runtime, string inbox) : IFilter<ConsumeContext>
{
    readonly string _inbox = inbox;

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
            await next.Send(new RedirectedConsumeContext(context, receive => new OutboxReceiveContext(receive, outbox))).ConfigureAwait(false);
            await outbox.FlushAsync(cancellationToken).ConfigureAwait(false);
            // Not cancellable once the work ran (see IdempotentEventConsumer.ConsumeOnceAsync).
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            outgoing = outbox.Outgoing;
        }
        SagaTelemetry.ReactionsCommitted.Add(1);
        await runtime.DeliverAfterCommitAsync(outgoing, cancellationToken).ConfigureAwait(false);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-inbox-outbox");
}
