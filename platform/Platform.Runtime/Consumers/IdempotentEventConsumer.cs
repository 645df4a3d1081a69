using System.Data.Common;
using MassTransit;
using Platform.EventStore.Storage;
using Platform.Runtime.Messaging;

namespace Platform.Runtime.Consumers;

/// <summary>One event being consumed inside the transaction that also records it in the inbox.</summary>
/// <typeparam name="TEvent">The event type.</typeparam>
/// <param name="Message">The event.</param>
/// <param name="Event">Its id, stream, version, position, correlation and causation.</param>
/// <param name="Connection">The open connection of the transaction; run the consumer's writes on it.</param>
/// <param name="Transaction">The transaction: set it on every command (or <c>Database.UseTransaction</c> of an EF context on <see cref="Connection"/>).</param>
/// <param name="ConsumeContext">MassTransit's context, to publish or send follow-up messages.</param>
public sealed record TransactionalEventContext<TEvent>(TEvent Message, EventHeaders Event, DbConnection Connection,
    DbTransaction Transaction, ConsumeContext<TEvent> ConsumeContext) where TEvent : class
{
    /// <summary>A command on <see cref="Connection"/> enlisted in <see cref="Transaction"/>.</summary>
    public DbCommand CreateCommand()
    {
        var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        return command;
    }
}

/// <summary>
/// A consumer of stored events whose effects happen at most once per event: the inbox row
/// (<c>processed_messages</c>, keyed by consumer name and event id) and the effects are written in
/// one transaction of the event store's database, so a redelivered event (relay republish, broker
/// redelivery after a lost ack, a second runtime instance) finds its row and changes nothing, and a
/// failed attempt leaves neither row nor effects behind.
/// </summary>
/// <typeparam name="TEvent">The generated event type.</typeparam>
public abstract class IdempotentEventConsumer<TEvent> : IConsumer<TEvent> where TEvent : class
{
    readonly SqlEventStore _store;

    /// <summary>Creates the consumer.</summary>
    /// <param name="store">The event store, whose database holds the inbox and the consumer's tables.</param>
    protected IdempotentEventConsumer(SqlEventStore store) => _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>The name the inbox keys this consumer's rows by; keep it stable across releases.</summary>
    protected virtual string ConsumerName => GetType().FullName!;

    /// <inheritdoc />
    public async Task Consume(ConsumeContext<TEvent> context)
    {
        var headers = EventHeaders.From(context);
        var cancellationToken = context.CancellationToken;
        await using var transaction = await _store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (!await _store.TryMarkProcessedAsync(ConsumerName, headers.EventId, transaction, cancellationToken).ConfigureAwait(false))
        {
            PlatformTelemetry.DuplicatesSkipped.Add(1);
            return; // disposing rolls back the (empty) transaction
        }
        await HandleAsync(new TransactionalEventContext<TEvent>(context.Message, headers, transaction.Connection,
            transaction.Transaction, context), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        PlatformTelemetry.EventsConsumed.Add(1);
    }

    /// <summary>The consumer's effects, written through <paramref name="context"/>'s connection and transaction.</summary>
    /// <param name="context">The event and the transaction.</param>
    /// <param name="cancellationToken">Cancels the work; nothing commits.</param>
    protected abstract Task HandleAsync(TransactionalEventContext<TEvent> context, CancellationToken cancellationToken);
}
