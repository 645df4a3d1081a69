using MassTransit;
using MassTransit.Context;
using MassTransit.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Messaging;
using Platform.Runtime.Messaging;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>
/// Gives a generated reaction, or a message consumer a service added, the same guarantees as a
/// saga step: in one transaction of the store's database the inbox row (<c>processed_messages</c>,
/// consumer <paramref name="inbox"/>: <c>reaction:{name}</c>, <c>consumer:{type}</c>) and the
/// messages the consumer sends or publishes (<c>scheduled_messages</c>) commit together; they are
/// delivered after the commit (or by the poller after a crash). A redelivered message finds its
/// inbox row and sends nothing. What the consumer schedules (a reaction's <c>after:</c>,
/// <c>ScheduleSend</c>, <see cref="IKeyedScheduler"/>) is a row of <c>scheduled_messages</c> in the
/// same transaction, delivered when due; what it cancels by key is deleted in it.
/// </summary>
sealed class InboxOutboxFilter(SqlEventStore store, SagaRuntime runtime, string inbox, IServiceProvider services) : IFilter<ConsumeContext>
{
    readonly string _inbox = inbox;
    IBusTopology? _topology;

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
            var redirected = new RedirectedConsumeContext(context, receive => new OutboxReceiveContext(receive, outbox));
            var topology = _topology ??= services.GetRequiredService<IBus>().Topology;
            // On the context the typed ones are made from (the redirected one's typed contexts look
            // up payloads there); each attempt replaces it with its own outbox's. The scheduler is
            // made only when the consumer schedules something.
            MessageSchedulerContext Scheduler() => new ConsumeMessageSchedulerContext(redirected,
                _ => new MessageScheduler(new OutboxScheduleProvider(outbox, static _ => null), topology));
            context.AddOrUpdatePayload(Scheduler, _ => Scheduler());
            context.AddOrUpdatePayload<IKeyedScheduler>(() => outbox, _ => outbox);
            await next.Send(redirected).ConfigureAwait(false);
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
