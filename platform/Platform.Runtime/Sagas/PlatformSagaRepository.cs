using System.Text.Json;
using MassTransit;
using MassTransit.Logging;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>
/// The saga repository of the runtime, written against MassTransit's public repository abstraction
/// (<see cref="ISagaRepositoryContextFactory{TSaga}"/>): saga rows in the event store's database
/// (PostgreSQL or SQLite, <see cref="SagaTables"/>). One step is one transaction holding
/// <list type="bullet">
/// <item>the inbox row (<c>processed_messages</c>, consumer <c>saga:{name}</c>, the message id): a redelivered message finds it and changes nothing;</item>
/// <item>the saga row, saved only if its version is still the one loaded (optimistic concurrency);</item>
/// <item>the history row of the transition;</item>
/// <item>every message the step sent, published or scheduled (<c>scheduled_messages</c>), and the deletion of the timeouts it cancelled.</item>
/// </list>
/// After the commit the step's messages are delivered and their rows deleted; if the process dies
/// first, <see cref="ScheduledMessageService"/> delivers them. On a version conflict the transaction
/// is rolled back and the step runs again on the reloaded saga, at most
/// <see cref="PlatformSagaOptions.MaxConcurrencyRetries"/> times; then the endpoint's retries and dead letters take over.
/// </summary>
/// <typeparam name="TSaga">The saga state class.</typeparam>
public sealed class PlatformSagaRepository<TSaga> : ISagaRepositoryContextFactory<TSaga>
    where TSaga : class, SagaStateMachineInstance
{
    readonly SqlEventStore _store;
    readonly SagaRuntime _runtime;
    readonly IServiceProvider _services;
    readonly ILogger _logger;
    readonly ILogContext _logContext;

    /// <summary>Created by the container (MassTransit's saga registration).</summary>
    public PlatformSagaRepository(SqlEventStore store, SagaRuntime runtime, IServiceProvider services, ILoggerFactory loggerFactory)
    {
        _store = store;
        _runtime = runtime;
        _services = services;
        _logger = loggerFactory.CreateLogger("Platform.Runtime.Sagas");
        // MassTransit's LogContext (what the generated state machine logs unexpected events to) is an
        // AsyncLocal; each step runs with one on this host's logger factory, so several hosts in one
        // process (tests) each log to their own.
        var previous = LogContext.Current;
        LogContext.ConfigureCurrentLogContext(loggerFactory);
        _logContext = LogContext.Current!;
        LogContext.Current = previous;
        var binding = runtime.BindingFor(typeof(TSaga));
        SagaName = binding.Name;
        InboxName = "saga:" + binding.Name;
        Routes = runtime.Routes.WithSelf(binding.Address);
    }

    /// <summary>The saga's name (the state machine's, without <c>StateMachine</c>).</summary>
    public string SagaName { get; }

    internal string InboxName { get; }


    internal MessageRoutes Routes { get; }

    internal TimeSpan? TimeoutOverride(Type timeoutType) =>
        _runtime.Options.Sagas.Timeouts.TryGetValue(timeoutType.Name, out var delay) ? delay : null;

    internal string Serialize(TSaga saga) => JsonSerializer.Serialize(saga, SagaTables.Json);

    internal TSaga Deserialize(string data) => JsonSerializer.Deserialize<TSaga>(data, SagaTables.Json)
        ?? throw new InvalidOperationException($"Saga {SagaName}: a stored row holds no state.");

    /// <inheritdoc />
    public void Probe(ProbeContext context) => context.CreateScope("platform-saga-repository").Add("saga", SagaName);

    /// <inheritdoc />
    public async Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next) where T : class
    {
        var cancellationToken = context.CancellationToken;
        await _runtime.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var bus = _services.GetRequiredService<IBus>();
        LogContext.Current = _logContext;
        for (var attempt = 0; ; attempt++)
        {
            IReadOnlyList<ScheduledMessageRow> outgoing;
            await using (var transaction = await _store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                if (context.MessageId is { } messageId
                    && !await _store.TryMarkProcessedAsync(InboxName, messageId, transaction, cancellationToken).ConfigureAwait(false))
                {
                    SagaTelemetry.DuplicatesSkipped.Add(1);
                    return;
                }
                var outbox = new TransactionalOutbox(InboxName, null, context, transaction.Connection, transaction.Transaction, Routes,
                    _runtime.Options.Sagas.LeftoverDelay);
                try
                {
                    await next.Send(new PlatformSagaRepositoryContext<TSaga, T>(context, this, transaction, outbox, bus.Topology)).ConfigureAwait(false);
                    await outbox.FlushAsync(cancellationToken).ConfigureAwait(false);
                    // Not cancellable once the step ran (see IdempotentEventConsumer.ConsumeOnceAsync).
                    await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception exception) when (Find<SagaResolvedException>(exception) is { } resolved)
                {
                    // Recorded as handled (the inbox row), nothing else: late replies and timeouts
                    // would otherwise move on a saga whose outcome an operator settled by hand.
                    await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                    // A warning: a late reply may change what the operator settled (a refund made twice).
                    _logger.LogWarning("Saga {Saga} {CorrelationId} was resolved by an operator ({Resolution}); {Message} {MessageId} is not applied to it. Check whether it changes what was settled by hand",
                        SagaName, resolved.CorrelationId, resolved.Resolution, typeof(T).Name, context.MessageId);
                    return;
                }
                catch (Exception exception) when (Find<SagaConcurrencyException>(exception) is not null && attempt < _runtime.Options.Sagas.MaxConcurrencyRetries)
                {
                    SagaTelemetry.ConcurrencyRetries.Add(1);
                    _logger.LogDebug("Saga {Saga}: {Message} lost a concurrency race, running it again (attempt {Attempt})",
                        SagaName, typeof(T).Name, attempt + 2);
                    continue; // disposing the transaction rolls it back
                }
                outgoing = outbox.Outgoing;
            }
            SagaTelemetry.StepsCommitted.Add(1);
            await _runtime.DeliverAfterCommitAsync(outgoing, cancellationToken).ConfigureAwait(false);
            return;
        }
    }

    /// <inheritdoc />
    public Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next) where T : class =>
        throw new NotSupportedException(
            $"Saga {SagaName} correlates {typeof(T).Name} by a query; the platform's saga repository loads sagas by correlation id only. Correlate the event by id (correlateBy in the definition).");

    // MassTransit may wrap what the saga pipe threw.
    static TException? Find<TException>(Exception exception) where TException : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is TException found)
                return found;
            if (current is AggregateException aggregate && aggregate.InnerExceptions.Select(Find<TException>).FirstOrDefault(e => e is not null) is { } inner)
                return inner;
        }
        return null;
    }
}
