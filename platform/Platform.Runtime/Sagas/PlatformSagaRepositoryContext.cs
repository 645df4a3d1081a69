using MassTransit;
using MassTransit.Context;
using MassTransit.Saga;
using MassTransit.Scheduling;
using Platform.EventStore.Storage;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>
/// One saga step's view of the repository: loads and saves the saga row in the step's transaction
/// (the same one that holds the inbox row and the outbox rows), with an optimistic check on the
/// version column. A save that finds another version throws <see cref="SagaConcurrencyException"/>;
/// the factory rolls back and runs the step again on the reloaded saga.
/// </summary>
sealed class PlatformSagaRepositoryContext<TSaga, TMessage> : ConsumeContextScope<TMessage>, SagaRepositoryContext<TSaga, TMessage>
    where TSaga : class, SagaStateMachineInstance
    where TMessage : class
{
    readonly PlatformSagaRepository<TSaga> _repository;
    readonly EventStoreTransaction _transaction;
    readonly TransactionalOutbox _outbox;
    string? _loadedState;
    int _loadedVersion;

    public PlatformSagaRepositoryContext(ConsumeContext<TMessage> context, PlatformSagaRepository<TSaga> repository,
        EventStoreTransaction transaction, TransactionalOutbox outbox, IBusTopology topology)
        : base(context)
    {
        _repository = repository;
        _transaction = transaction;
        _outbox = outbox;
        // Contexts built on this one (the saga's, the state machine's) take this receive context,
        // whose send and publish endpoints write to the outbox.
        ReceiveContext = new OutboxReceiveContext(context.ReceiveContext, outbox);
        PublishEndpointProvider = ReceiveContext.PublishEndpointProvider;
        var provider = new OutboxScheduleProvider(outbox, repository.TimeoutOverride);
        AddOrUpdatePayload<MessageSchedulerContext>(
            () => new ConsumeMessageSchedulerContext(this, _ => new MessageScheduler(provider, topology)),
            _ => new ConsumeMessageSchedulerContext(this, _ => new MessageScheduler(provider, topology)));
    }

    public override Task<ISendEndpoint> GetSendEndpoint(Uri address) => ReceiveContext.SendEndpointProvider.GetSendEndpoint(address);

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, TSaga instance, SagaConsumeContextMode mode)
        where T : class =>
        Task.FromResult<SagaConsumeContext<TSaga, T>>(new PlatformSagaConsumeContext<TSaga, T>(consumeContext, instance));

    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance)
    {
        _outbox.CorrelationId = instance.CorrelationId.ToString("D");
        _loadedState = null;
        return CreateSagaConsumeContext(this, instance, SagaConsumeContextMode.Add);
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        _outbox.CorrelationId = instance.CorrelationId.ToString("D");
        var state = SagaStateAccess<TSaga>.GetState(instance);
        if (instance is ISagaVersion versioned)
            versioned.Version = 1;
        try
        {
            await SagaTables.InsertAsync(_transaction.Connection, _transaction.Transaction, _repository.SagaName, instance.CorrelationId, state, 1,
                _repository.Serialize(instance), DateTimeOffset.UtcNow, CancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (Sql.IsUniqueViolation(exception))
        {
            // Another message created it first: run the step again, which then loads it.
            throw new SagaConcurrencyException(_repository.SagaName, instance.CorrelationId, 0);
        }
        _loadedState = state;
        _loadedVersion = 1;
        return await CreateSagaConsumeContext(this, instance, SagaConsumeContextMode.Insert).ConfigureAwait(false);
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        var row = await SagaTables.LoadAsync(_transaction.Connection, _transaction.Transaction, _repository.SagaName, correlationId, CancellationToken)
            .ConfigureAwait(false);
        if (row is null)
            return null!; // MassTransit's contract: no instance, the policy decides (create or missing)
        if (row.ResolvedAt is not null)
            throw new SagaResolvedException(_repository.SagaName, correlationId, row.Resolution);
        _outbox.CorrelationId = correlationId.ToString("D");
        var instance = _repository.Deserialize(row.Data);
        instance.CorrelationId = correlationId;
        SagaStateAccess<TSaga>.SetState(instance, row.CurrentState);
        if (instance is ISagaVersion versioned)
            versioned.Version = row.Version;
        _loadedState = row.CurrentState;
        _loadedVersion = row.Version;
        return await CreateSagaConsumeContext(this, instance, SagaConsumeContextMode.Load).ConfigureAwait(false);
    }

    public async Task Save(SagaConsumeContext<TSaga> context)
    {
        var instance = context.Saga;
        var state = SagaStateAccess<TSaga>.GetState(instance);
        if (instance is ISagaVersion versioned)
            versioned.Version = 1;
        var now = DateTimeOffset.UtcNow;
        try
        {
            await SagaTables.InsertAsync(_transaction.Connection, _transaction.Transaction, _repository.SagaName, instance.CorrelationId, state, 1,
                _repository.Serialize(instance), now, CancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (Sql.IsUniqueViolation(exception))
        {
            throw new SagaConcurrencyException(_repository.SagaName, instance.CorrelationId, 0);
        }
        await AddHistoryAsync(instance, 1, null, state, now).ConfigureAwait(false);
    }

    public async Task Update(SagaConsumeContext<TSaga> context)
    {
        var instance = context.Saga;
        var state = SagaStateAccess<TSaga>.GetState(instance);
        var next = _loadedVersion + 1;
        if (instance is ISagaVersion versioned)
            versioned.Version = next;
        var now = DateTimeOffset.UtcNow;
        if (!await SagaTables.UpdateAsync(_transaction.Connection, _transaction.Transaction, _repository.SagaName, instance.CorrelationId,
                _loadedVersion, state, _repository.Serialize(instance), now, CancellationToken).ConfigureAwait(false))
            throw new SagaConcurrencyException(_repository.SagaName, instance.CorrelationId, _loadedVersion);
        await AddHistoryAsync(instance, next, _loadedState, state, now).ConfigureAwait(false);
        _loadedVersion = next;
        _loadedState = state;
    }

    public async Task Delete(SagaConsumeContext<TSaga> context)
    {
        if (!await SagaTables.DeleteAsync(_transaction.Connection, _transaction.Transaction, _repository.SagaName, context.Saga.CorrelationId,
                _loadedVersion, CancellationToken).ConfigureAwait(false))
            throw new SagaConcurrencyException(_repository.SagaName, context.Saga.CorrelationId, _loadedVersion);
        await AddHistoryAsync(context.Saga, _loadedVersion + 1, _loadedState, "(deleted)", DateTimeOffset.UtcNow).ConfigureAwait(false);
    }

    // Nothing was written outside the transaction: the factory's rollback discards and undoes.
    public Task Discard(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<TSaga> context) => Task.CompletedTask;

    // What the step sent, and the timeouts it scheduled with the saga property holding each token:
    // what a retry into the state this step entered sends and schedules again.
    Task AddHistoryAsync(TSaga instance, int version, string? from, string to, DateTimeOffset now)
    {
        var sent = _outbox.Pending.Select(m => m.TokenId is { } token
            ? new SentMessage(m.Kind, m.Destination, m.MessageType, m.Payload, m.Headers, token,
                (long)(m.DueAt - m.CreatedAt).TotalMilliseconds, SagaTokens<TSaga>.PropertyHolding(instance, token))
            : new SentMessage(m.Kind, m.Destination, m.MessageType, m.Payload, m.Headers)).ToArray();
        return SagaTables.AddHistoryAsync(_transaction.Connection, _transaction.Transaction,
            new SagaHistoryRow(_repository.SagaName, instance.CorrelationId, version, from, to, typeof(TMessage).Name, MessageId?.ToString("D"),
                System.Text.Json.JsonSerializer.Serialize(sent, SagaTables.Json), now), CancellationToken);
    }
}
