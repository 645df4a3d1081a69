using System.Collections.Concurrent;
using System.Threading.Channels;
using Platform.EventStore.Storage;
using Platform.Runtime.Messaging;

namespace Platform.Runtime.Consumers;

/// <summary>
/// Group commit for <see cref="IdempotentEventConsumer"/>s. A consumer's deliveries that arrive
/// while one of its transactions is running wait, and the next transaction claims all of them in
/// one round trip (order guards and the consumer's rows per stream), runs their effects one after the other and
/// commits once; each delivery is acknowledged only after that commit. Under load this takes the
/// consumer from a transaction per event to a transaction per batch; a lone delivery runs at once.
/// If one delivery's effects throw, nothing of the batch commits: that delivery fails alone (its
/// attempt, retried and dead-lettered by the endpoint as usual) and the others go round again
/// without it, so the effects of those that ran before it run twice, once rolled back. Effects
/// belong in the transaction; anything done outside it must bear running again, as with any retry.
/// Registered by <c>AddPlatform</c> (see <see cref="Configuration.PlatformTransportOptions.ConsumerCommitBatchSize"/>).
/// </summary>
public sealed class InboxCommitGroups : IAsyncDisposable
{
    internal static readonly System.Diagnostics.Metrics.Histogram<int> BatchSizes = PlatformTelemetry.Meter.CreateHistogram<int>(
        "platform.consumers.commit_batch", "{event}", "Deliveries an idempotent consumer committed in one transaction, by consumer.");

    readonly SqlEventStore _store;
    readonly int _batchSize;
    readonly int _concurrency;
    // Lazy: GetOrAdd may run its factory twice under a race, and a Group starts its loops.
    readonly ConcurrentDictionary<string, Lazy<Group>> _groups = new(StringComparer.Ordinal);
    readonly CancellationTokenSource _stopping = new();

    /// <summary>Creates the groups.</summary>
    /// <param name="store">The event store whose database holds the inbox and the consumers' tables.</param>
    /// <param name="batchSize">Most deliveries per transaction; 1 turns group commit off.</param>
    /// <param name="concurrency">Transactions a consumer may have running at once.</param>
    public InboxCommitGroups(SqlEventStore store, int batchSize, int concurrency)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        _batchSize = batchSize;
        _concurrency = concurrency;
    }

    /// <summary>Whether deliveries are grouped at all (a batch size above 1).</summary>
    public bool Enabled => _batchSize > 1 && !_stopping.IsCancellationRequested;

    /// <summary>Deliveries of <paramref name="consumer"/> waiting for a transaction now.</summary>
    /// <param name="consumer">The consumer's inbox name (its full type name unless it says otherwise).</param>
    public int Waiting(string consumer) => _groups.TryGetValue(consumer, out var group) ? group.Value.Queue.Reader.Count : 0;

    internal Task<InboxOutcome> SubmitAsync(string consumer, IReadOnlyList<string> typeNames, InboxDelivery delivery)
    {
        var group = _groups.GetOrAdd(consumer, name => new Lazy<Group>(() => new Group(this, name, typeNames))).Value;
        if (!group.Queue.Writer.TryWrite(delivery))
            return Task.FromResult(InboxOutcome.RunAlone); // stopping: the delivery's own transaction
        return delivery.Outcome.Task;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
            return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        var groups = _groups.Values.Select(g => g.Value).ToList();
        foreach (var group in groups)
            group.Queue.Writer.TryComplete();
        // The token source stays undisposed: a delivery racing the stop may still start a group.
        await Task.WhenAll(groups.SelectMany(g => g.Loops)).ConfigureAwait(false);
    }

    sealed class Group
    {
        readonly InboxCommitGroups _owner;
        readonly string _consumer;
        readonly IReadOnlyList<string> _typeNames;

        public Group(InboxCommitGroups owner, string consumer, IReadOnlyList<string> typeNames)
        {
            _owner = owner;
            _consumer = consumer;
            _typeNames = typeNames;
            Loops = Enumerable.Range(0, owner._concurrency).Select(_ => Task.Run(RunAsync)).ToArray();
        }

        public Channel<InboxDelivery> Queue { get; } = Channel.CreateUnbounded<InboxDelivery>();

        public Task[] Loops { get; }

        async Task RunAsync()
        {
            var batch = new List<InboxDelivery>(_owner._batchSize);
            try
            {
                while (await Queue.Reader.WaitToReadAsync(_owner._stopping.Token).ConfigureAwait(false))
                {
                    batch.Clear();
                    while (batch.Count < _owner._batchSize && Queue.Reader.TryRead(out var delivery))
                    {
                        if (delivery.CancellationToken.IsCancellationRequested)
                            delivery.Outcome.TrySetCanceled(delivery.CancellationToken);
                        else
                            batch.Add(delivery);
                    }
                    if (batch.Count > 0)
                        await CommitAsync(batch).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_owner._stopping.IsCancellationRequested)
            {
            }
            // Whatever is still queued runs in its own delivery's transaction.
            while (Queue.Reader.TryRead(out var left))
                left.Outcome.TrySetResult(InboxOutcome.RunAlone);
        }

        async Task CommitAsync(List<InboxDelivery> batch)
        {
            var outcomes = new InboxOutcome[batch.Count];
            var failing = -1;
            try
            {
                await using var transaction = await _owner._store.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
                var requests = new InboxClaimRequest[batch.Count];
                for (var i = 0; i < batch.Count; i++)
                    requests[i] = new InboxClaimRequest(batch[i].Headers.StreamId, batch[i].Headers.StreamVersion);
                var claims = await _owner._store.TryMarkProcessedInOrderAsync(_consumer, requests, _typeNames, transaction, CancellationToken.None)
                    .ConfigureAwait(false);
                // An event that overtook its predecessor moved nothing and comes again (retried by the endpoint).
                for (var i = 0; i < batch.Count; i++)
                {
                    outcomes[i] = claims[i].EarlierUnprocessed > 0 ? InboxOutcome.OutOfOrder(claims[i].EarlierUnprocessed)
                        : !claims[i].Recorded ? InboxOutcome.Duplicate
                        : InboxOutcome.Committed;
                }
                var committed = 0;
                for (var i = 0; i < batch.Count; i++)
                {
                    if (outcomes[i].Kind != InboxOutcomeKind.Committed)
                        continue;
                    failing = i;
                    await batch[i].HandleAsync(transaction).ConfigureAwait(false);
                    committed++;
                }
                failing = -1;
                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                if (committed > 0)
                    BatchSizes.Record(committed, new KeyValuePair<string, object?>("consumer", _consumer));
            }
            catch (Exception exception) when (failing >= 0)
            {
                // One delivery's effects threw: that is its attempt, and it fails alone (the endpoint
                // retries it, then dead-letters it). Nothing committed, so the others of the batch
                // go round again without it; those whose effects had run before it run them again.
                batch[failing].Outcome.TrySetException(exception);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (i == failing)
                        continue;
                    if (outcomes[i].Kind != InboxOutcomeKind.Committed || !Queue.Writer.TryWrite(batch[i]))
                        batch[i].Outcome.TrySetResult(outcomes[i].Kind == InboxOutcomeKind.Committed ? InboxOutcome.RunAlone : outcomes[i]);
                }
                return;
            }
            catch (Exception exception) when (batch.Count == 1)
            {
                batch[0].Outcome.TrySetException(exception);
                return;
            }
            catch (Exception)
            {
                // The claims or the commit failed (e.g. the database went away): each delivery runs
                // alone in a transaction of its own and meets the failure by itself.
                Array.Fill(outcomes, InboxOutcome.RunAlone);
            }
            for (var i = 0; i < batch.Count; i++)
                batch[i].Outcome.TrySetResult(outcomes[i]);
        }
    }
}

/// <summary>What became of a delivery handed to <see cref="InboxCommitGroups"/>.</summary>
enum InboxOutcomeKind
{
    /// <summary>Its effects and inbox row committed.</summary>
    Committed,

    /// <summary>The inbox had it: a redelivery, nothing ran.</summary>
    Duplicate,

    /// <summary>An earlier event of its stream is not processed yet: nothing ran, retry it.</summary>
    OutOfOrder,

    /// <summary>Its batch failed: run it again in a transaction of its own.</summary>
    RunAlone,
}

readonly record struct InboxOutcome(InboxOutcomeKind Kind, long EarlierUnprocessed)
{
    public static readonly InboxOutcome Committed = new(InboxOutcomeKind.Committed, 0);
    public static readonly InboxOutcome Duplicate = new(InboxOutcomeKind.Duplicate, 0);
    public static readonly InboxOutcome RunAlone = new(InboxOutcomeKind.RunAlone, 0);

    public static InboxOutcome OutOfOrder(long earlier) => new(InboxOutcomeKind.OutOfOrder, earlier);
}

/// <summary>One delivery waiting for a group transaction: its headers and its effects.</summary>
abstract class InboxDelivery(EventHeaders headers, CancellationToken cancellationToken)
{
    public EventHeaders Headers { get; } = headers;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public TaskCompletionSource<InboxOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public abstract Task HandleAsync(EventStoreTransaction transaction);
}
