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
/// The base of consumers of stored events whose effects happen at most once per event and in
/// stream order. The consumer's inbox is one row per stream (<c>consumer_streams</c>: the version of
/// the last event of the stream it processed), moved in one transaction of the event store's
/// database with the effects, so a redelivered event (relay republish, broker redelivery after a
/// lost ack, a second runtime instance) finds the row at or past it and changes nothing, and a
/// failed attempt leaves neither row nor effects behind. A consumer of
/// several event types implements <c>IConsumer&lt;T&gt;</c> for each and calls
/// <see cref="ConsumeOnceAsync{TEvent}"/>; a consumer of one type derives from
/// <see cref="IdempotentEventConsumer{TEvent}"/>.
/// </summary>
public abstract class IdempotentEventConsumer
{
    // Per consumer type (and registry), not per instance: MassTransit creates a consumer per
    // message, and the reflection in HandledTypeNames ran for every event.
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Platform.Events.EventTypeRegistry,
        System.Collections.Concurrent.ConcurrentDictionary<Type, IReadOnlyList<string>>> HandledTypeNamesCache = new();

    readonly SqlEventStore _store;

    /// <summary>Creates the consumer.</summary>
    /// <param name="store">The event store, whose database holds the inbox and the consumer's tables.</param>
    protected IdempotentEventConsumer(SqlEventStore store) => _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>The name the inbox keys this consumer's rows by; keep it stable across releases.</summary>
    protected virtual string ConsumerName => GetType().FullName!;

    /// <summary><see cref="ConsumerName"/>, for the runtime recording where the consumer's order guard begins.</summary>
    internal string InboxName => ConsumerName;

    /// <summary>
    /// Runs <paramref name="handle"/> and records the event in the inbox in one transaction, unless
    /// the inbox already has it. Returns false for a redelivery (nothing ran).
    /// </summary>
    /// <typeparam name="TEvent">The event type.</typeparam>
    /// <param name="context">The consume context of an event published by the outbox relay.</param>
    /// <param name="handle">The effects, written through the context's connection and transaction.</param>
    /// <exception cref="OutOfOrderEventException">An earlier event of the stream that this consumer handles is not committed yet.</exception>
    protected async Task<bool> ConsumeOnceAsync<TEvent>(ConsumeContext<TEvent> context,
        Func<TransactionalEventContext<TEvent>, CancellationToken, Task> handle) where TEvent : class
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(handle);
        var headers = EventHeaders.From(context);
        var cancellationToken = context.CancellationToken;
        if (context.TryGetPayload<IServiceProvider>(out var services) && services.GetService(typeof(InboxCommitGroups)) is InboxCommitGroups { Enabled: true } groups)
        {
            var outcome = await groups.SubmitAsync(ConsumerName, HandledTypes,
                new GroupedDelivery<TEvent>(headers, context, handle)).ConfigureAwait(false);
            switch (outcome.Kind)
            {
                case InboxOutcomeKind.Committed:
                    PlatformTelemetry.EventsConsumed.Add(1);
                    return true;
                case InboxOutcomeKind.Duplicate:
                    PlatformTelemetry.DuplicatesSkipped.Add(1);
                    return false;
                case InboxOutcomeKind.OutOfOrder:
                    throw new OutOfOrderEventException(ConsumerName, headers.StreamId, headers.StreamVersion, outcome.EarlierUnprocessed);
            }
            // RunAlone: the batch failed; this delivery's own transaction below.
        }
        await using var transaction = await _store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // The order guard and the consumer's row for the stream in one round trip. On PostgreSQL a
        // second instance running the same delivery waits for the first to commit and then moves
        // nothing, so two concurrent deliveries cannot both run the effects.
        var claim = await _store.TryMarkProcessedInOrderAsync(ConsumerName, headers.StreamId, headers.StreamVersion,
            HandledTypes, transaction, cancellationToken).ConfigureAwait(false);
        if (claim.EarlierUnprocessed > 0)
            throw new OutOfOrderEventException(ConsumerName, headers.StreamId, headers.StreamVersion, claim.EarlierUnprocessed);
        if (!claim.Recorded)
        {
            PlatformTelemetry.DuplicatesSkipped.Add(1);
            return false; // disposing rolls back the (empty) transaction
        }
        await handle(new TransactionalEventContext<TEvent>(context.Message, headers, transaction.Connection,
            transaction.Transaction, context), cancellationToken).ConfigureAwait(false);
        // Not cancellable once the effects ran, as in a group: a commit cut short by the token could
        // have committed on the server while the consume reports a failure.
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        PlatformTelemetry.EventsConsumed.Add(1);
        return true;
    }

    sealed class GroupedDelivery<TEvent>(EventHeaders headers, ConsumeContext<TEvent> context,
        Func<TransactionalEventContext<TEvent>, CancellationToken, Task> handle) : InboxDelivery(headers, context.CancellationToken)
        where TEvent : class
    {
        public override Task HandleAsync(EventStoreTransaction transaction) =>
            handle(new TransactionalEventContext<TEvent>(context.Message, Headers, transaction.Connection, transaction.Transaction, context),
                context.CancellationToken);
    }

    // The order guard. The partitioner keeps one stream's events serial inside one process, but
    // MassTransit hands prefetched messages to the partitioner from concurrent tasks, so an event
    // can overtake its predecessor on the way in (the suite saw version 3 run before 2 even with
    // one partition), and a second runtime instance has partitions of its own. So before running
    // its effects a consumer checks in the store that no event of the stream that it handles lies
    // between the last one it committed and this one (SqlEventStore.TryMarkProcessedInOrderAsync,
    // in the same round trip as moving its row). Events it does not handle do not count; archived
    // events count as done.
    /// <summary>The stored type names of the events this consumer handles, in ordinal order.</summary>
    internal IReadOnlyList<string> HandledTypes =>
        HandledTypeNamesCache.GetValue(_store.Registry, static _ => new())
            .GetOrAdd(GetType(), static (_, consumer) => consumer.HandledTypeNames(), this);

    IReadOnlyList<string> HandledTypeNames() => GetType().GetInterfaces()
        .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
        .Select(i => _store.Registry.Get(i.GetGenericArguments()[0]).TypeName)
        .Order(StringComparer.Ordinal)
        .ToArray();
}

/// <summary>An <see cref="IdempotentEventConsumer"/> of one event type.</summary>
/// <typeparam name="TEvent">The generated event type.</typeparam>
public abstract class IdempotentEventConsumer<TEvent> : IdempotentEventConsumer, IConsumer<TEvent> where TEvent : class
{
    /// <summary>Creates the consumer.</summary>
    /// <param name="store">The event store, whose database holds the inbox and the consumer's tables.</param>
    protected IdempotentEventConsumer(SqlEventStore store) : base(store)
    {
    }

    /// <inheritdoc />
    public Task Consume(ConsumeContext<TEvent> context) => ConsumeOnceAsync(context, HandleAsync);

    /// <summary>The consumer's effects, written through <paramref name="context"/>'s connection and transaction.</summary>
    /// <param name="context">The event and the transaction.</param>
    /// <param name="cancellationToken">Cancels the work; nothing commits.</param>
    protected abstract Task HandleAsync(TransactionalEventContext<TEvent> context, CancellationToken cancellationToken);
}
