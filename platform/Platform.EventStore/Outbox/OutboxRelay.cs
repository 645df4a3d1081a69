using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Persistence;

namespace Platform.EventStore.Outbox;

/// <summary>Settings of an <see cref="OutboxRelay"/>.</summary>
public sealed class OutboxRelayOptions
{
    /// <summary>The checkpoint row the relay keeps its position in. Default <c>outbox</c>.</summary>
    public string CheckpointName { get; set; } = "outbox";

    /// <summary>Events per read and per publish. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How long to wait before looking again once caught up. Default 100 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long to wait after a failure (publish error, unreadable event) before trying again. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long one batch's publish may take before the relay gives up on it and publishes the
    /// batch again (consumers drop the copies). Default 30 s. A broker client can wait forever for
    /// a publisher confirm lost in a broker restart (RabbitMQ.Client 7.2, rabbitmq-dotnet-client
    /// #1930); without this bound the relay would stop for good with no error.
    /// </summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Moves stored events to the message bus. The events table is the outbox: an event is stored
/// with its aggregate's change in one transaction, and the relay reads it later in global order
/// (gap-free, see <see cref="SqlEventStore.ReadAllAsync"/>), publishes it, then moves its
/// checkpoint. A crash between publish and checkpoint publishes the batch again, so delivery is
/// at least once and consumers deduplicate by event id. The checkpoint moves only from the position
/// the relay read it at, so a rewind (<see cref="RewindAsync"/>) made while it publishes is kept.
/// </summary>
public sealed class OutboxRelay
{
    static Meter Meter => StoreTelemetry.Meter;

    readonly SqlEventStore _store;
    readonly IEventPublisher _publisher;
    readonly OutboxRelayOptions _options;
    readonly ILogger _logger;
    long _published = -1;
    long _head;

    /// <summary>Creates a relay; run it with <see cref="RunAsync"/> (or step it with <see cref="PublishPendingAsync"/>).</summary>
    /// <param name="store">The store to read.</param>
    /// <param name="publisher">The bus.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="logger">Where failures are logged.</param>
    public OutboxRelay(SqlEventStore store, IEventPublisher publisher, OutboxRelayOptions? options = null, ILogger? logger = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _publisher = publisher ?? throw new ArgumentNullException(nameof(publisher));
        _options = options ?? new OutboxRelayOptions();
        _logger = logger ?? NullLogger.Instance;
        // One gauge per relay, told apart by its checkpoint name.
        var tag = new KeyValuePair<string, object?>("checkpoint", _options.CheckpointName);
        Meter.CreateObservableGauge("platform.outbox.lag", () => new Measurement<long>(Lag, tag), unit: "{event}",
            description: "Global positions stored but not yet published by the outbox relay.");
        Meter.CreateObservableGauge("platform.outbox.lag_time", () => new Measurement<double>(LagTime.TotalSeconds, tag), unit: "s",
            description: "Age of the oldest stored event the outbox relay has read but not yet published; 0 when caught up.");
    }

    /// <summary>
    /// Age of the oldest event the relay has read and not yet published (it grows while the bus is
    /// down); zero once the relay reached the head.
    /// </summary>
    public TimeSpan LagTime
    {
        get
        {
            var since = Interlocked.Read(ref _pendingSinceTicks);
            return since == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, DateTimeOffset.UtcNow.UtcTicks - since));
        }
    }

    long _pendingSinceTicks;

    /// <summary>The last global position published and checkpointed (0 before anything was).</summary>
    public long PublishedPosition => Math.Max(Interlocked.Read(ref _published), 0);

    /// <summary>
    /// Positions between the head of the store (as last seen) and what is published. Refreshed on
    /// every pass; <see cref="GetLagAsync"/> asks the database now.
    /// </summary>
    public long Lag => Math.Max(0, Interlocked.Read(ref _head) - PublishedPosition);

    /// <summary>The last failure, cleared by the next successful pass.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>
    /// Moves the relay's checkpoint back so that it publishes every event from
    /// <paramref name="fromPosition"/> on again, for consumers that lost them (a queue deleted or
    /// purged, a Kafka topic past its retention, a store restored from a backup). A running relay
    /// picks it up at its next pass; consumers drop what they processed before by their inbox.
    /// Never moves the checkpoint forward: that would skip events.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="fromPosition">The first global position to publish again (1 or more).</param>
    /// <param name="checkpointName">The relay's checkpoint row (<see cref="OutboxRelayOptions.CheckpointName"/>).</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    /// <returns>The checkpoint before and after; equal when it was at or before <paramref name="fromPosition"/> already.</returns>
    public static async Task<(long Before, long After)> RewindAsync(SqlEventStore store, long fromPosition, string checkpointName = "outbox",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(fromPosition, 1);
        while (true)
        {
            var current = await store.GetCheckpointAsync(checkpointName, cancellationToken).ConfigureAwait(false);
            var target = fromPosition - 1;
            if (target >= current)
                return (current, current);
            // A relay that moved the checkpoint between the read and the write: read it again.
            if (await store.TryMoveCheckpointAsync(checkpointName, current, target, cancellationToken).ConfigureAwait(false))
                return (current, target);
        }
    }

    /// <summary>Positions stored but not yet published, asked of the database now.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> GetLagAsync(CancellationToken cancellationToken = default)
    {
        var head = await _store.GetHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _head, head);
        var published = await _store.GetCheckpointAsync(_options.CheckpointName, cancellationToken).ConfigureAwait(false);
        return Math.Max(0, head - published);
    }

    /// <summary>Publishes everything stored so far, batch by batch. Returns how many events were published.</summary>
    /// <param name="cancellationToken">Stops between batches.</param>
    public async Task<int> PublishPendingAsync(CancellationToken cancellationToken = default)
    {
        var position = await _store.GetCheckpointAsync(_options.CheckpointName, cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _published, position);
        var total = 0;
        while (true)
        {
            var page = await _store.ReadAllAsync(position, _options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (page.Events.Count > 0)
            {
                // Kept from the first failed attempt on: a retried batch still has its oldest event.
                if (Interlocked.Read(ref _pendingSinceTicks) == 0)
                    Interlocked.Exchange(ref _pendingSinceTicks, page.Events[0].Timestamp.UtcTicks);
                await PublishBoundedAsync(page.Events, cancellationToken).ConfigureAwait(false);
            }
            if (page.NextPosition != position)
            {
                if (!await _store.TryMoveCheckpointAsync(_options.CheckpointName, position, page.NextPosition, cancellationToken).ConfigureAwait(false))
                {
                    // Rewound meanwhile (platform relay republish), or moved by another instance: the
                    // next pass starts from the stored checkpoint, not from where this one got to.
                    Interlocked.Exchange(ref _pendingSinceTicks, 0);
                    _logger.LogInformation("The outbox relay's checkpoint moved while it published up to {Position}; continuing from the stored checkpoint",
                        page.NextPosition);
                    return total + page.Events.Count;
                }
                position = page.NextPosition;
                Interlocked.Exchange(ref _published, position);
                if (position > Interlocked.Read(ref _head))
                    Interlocked.Exchange(ref _head, position);
            }
            total += page.Events.Count;
            Interlocked.Exchange(ref _pendingSinceTicks, 0); // the next page, if any, sets it again
            if (page.ReachedEnd)
                return total;
        }
    }

    async Task PublishBoundedAsync(IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(_options.PublishTimeout);
        try
        {
            // WaitAsync as well as the token: a publisher that ignores cancellation must not hold the relay.
            await _publisher.PublishAsync(events, bounded.Token).WaitAsync(_options.PublishTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(PublishTimedOut(events));
        }
        catch (TimeoutException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(PublishTimedOut(events), exception);
        }
    }

    string PublishTimedOut(IReadOnlyList<EventEnvelope> events) =>
        $"Publishing {events.Count} events from position {events[0].GlobalPosition} took longer than {_options.PublishTimeout}; " +
        "the batch is published again";

    /// <summary>
    /// Relays until cancelled. A failure (bus down, an event that cannot be read) is logged, kept
    /// in <see cref="LastError"/> and retried after <see cref="OutboxRelayOptions.RetryDelay"/>;
    /// the relay never skips an event because of it.
    /// </summary>
    /// <param name="cancellationToken">Stops the relay.</param>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                await PublishPendingAsync(cancellationToken).ConfigureAwait(false);
                await GetLagAsync(cancellationToken).ConfigureAwait(false);
                LastError = null;
                wait = _options.PollInterval;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                LastError = exception;
                _logger.LogError(exception, "Outbox relay failed after position {Position}; retrying", PublishedPosition);
                wait = _options.RetryDelay;
            }
            try
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
