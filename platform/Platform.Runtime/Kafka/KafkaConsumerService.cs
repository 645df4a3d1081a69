using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MassTransit;
using MassTransit.Mediator;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.Messaging;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;
using Platform.Runtime.Messaging;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Kafka;

/// <summary>
/// The consuming side of the Kafka transport. Every endpoint of the in-process bus (the command
/// queue, event consumers, sagas, reactions) has a Kafka consumer group of its own, named after its
/// queue, subscribed to every event topic when it consumes stored events, to its command topic
/// (what is sent to its queue) and to the message topics of the types it consumes (replies).
/// Records of one key in a partition are handed to the endpoint one after another, each only after
/// the one before it was consumed (or dead-lettered), so an aggregate's events are processed in
/// version order; other keys and partitions run in parallel. A member takes at most
/// <c>MaxBuffered</c> records, and <c>MaxBufferedBytes</c> bytes of them, from the client ahead of
/// its endpoint (partitions stuck behind one record do not count); the rest waits in librdkafka's buffer, off the .NET heap. The hand-over is a send to the
/// endpoint's own MassTransit mediator, configured by the same <see cref="PlatformBus.Endpoints"/>
/// as the bus's receive endpoint (retries, dead letters, inbox, the consumer or saga; no partitioner,
/// since the group keeps each key's order itself),
/// so the generated code runs unchanged, without a second serialization and queue per record: the
/// send completes when the pipeline is done with the record. A record's
/// offset is stored for commit only after its endpoint is done, and the stored offsets are
/// committed every <c>CommitInterval</c> and when partitions are revoked or the runtime stops:
/// after a crash or a rebalance the new owner starts after the last processed record, and what it
/// sees again is skipped by the endpoint's inbox. A record the endpoint consumes by its headers but
/// cannot read is dead-lettered at once; a stored event of a schema version newer than this build
/// knows is held, with its key's later records, for an instance of the newer build.
/// </summary>
public sealed class KafkaConsumerService : BackgroundService
{
    static readonly Meter Meter = PlatformTelemetry.Meter;
    static readonly ConcurrentDictionary<(string Group, string Topic, int Partition), long> Lag = new();
    static readonly ObservableGauge<long> LagGauge = Meter.CreateObservableGauge("platform.kafka.consumer_lag",
        () => Lag.Select(l => new Measurement<long>(l.Value,
            new KeyValuePair<string, object?>("group", l.Key.Group), new KeyValuePair<string, object?>("topic", l.Key.Topic),
            new KeyValuePair<string, object?>("partition", l.Key.Partition))),
        "{message}", "Records of a partition a consumer group has not processed yet: the high watermark minus the next offset to process.");

    readonly KafkaTopology _topology;
    readonly EventTypeRegistry _registry;
    readonly PlatformOptions _options;
    readonly IReadOnlyList<KafkaEndpoint> _endpoints;
    readonly Dictionary<string, IMediator> _pipelines;
    readonly ILogger<KafkaConsumerService> _logger;
    readonly DeadLetterStore _deadLetters;
    readonly IDeadLetterSink? _deadLetterSink;
    readonly ConcurrentDictionary<string, long> _heldRemindedAt = new(StringComparer.Ordinal);

    /// <summary>Creates the service.</summary>
    public KafkaConsumerService(IBusRegistrationContext context, IBus bus, KafkaTopology topology, KafkaMessageProducer producer,
        EventTypeRegistry registry, PlatformOptions options, DomainCatalog catalog, DeadLetterStore deadLetters, ILogger<KafkaConsumerService> logger,
        IDeadLetterSink? deadLetterSink = null)
    {
        _deadLetters = deadLetters;
        _deadLetterSink = deadLetterSink;
        _topology = topology;
        _registry = registry;
        _options = options;
        _endpoints = KafkaTopology.Endpoints(options, catalog);
        _logger = logger;
        var onTheBus = new BusConsumeContextFilter(bus,
            new KafkaSendEndpointProvider(bus, producer, _endpoints.Select(e => e.Queue).ToHashSet(StringComparer.Ordinal)));
        _pipelines = PlatformBus.Endpoints(context, options, catalog, endpoint => endpoint.ConfigureConsumeTopology = false)
            .ToDictionary(endpoint => endpoint.Queue, endpoint => Bus.Factory.CreateMediator(mediator =>
            {
                mediator.AddPrePipeSpecification(new FilterSpecification(onTheBus));
                endpoint.Configure(mediator);
            }), StringComparer.Ordinal);
    }

    /// <summary>The consumer lag of every group, topic and partition this process consumes, as last measured.</summary>
    public static IReadOnlyDictionary<(string Group, string Topic, int Partition), long> ConsumerLag => Lag;

    /// <summary>The most records each group's member in this process held at once (tests check <c>MaxBuffered</c> with it).</summary>
    internal static ConcurrentDictionary<string, int> PeakHeld { get; } = new(StringComparer.Ordinal);

    /// <summary>The most bytes of records each group's member in this process held at once (for <c>MaxBufferedBytes</c>).</summary>
    internal static ConcurrentDictionary<string, long> PeakHeldBytes { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(_endpoints.Select(endpoint => RunOnOwnThread(endpoint, stoppingToken))).ConfigureAwait(false);
        foreach (var pipeline in _pipelines.Values.OfType<IAsyncDisposable>())
            await pipeline.DisposeAsync().ConfigureAwait(false);
    }

    // librdkafka's poll blocks: each group member polls on a thread of its own, never on the
    // thread pool, which a few blocked threads starve on a small machine (the first version of
    // this loop ran at 2k records/s on 2 cores because of that).
    Task RunOnOwnThread(KafkaEndpoint endpoint, CancellationToken stoppingToken)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Run(endpoint, stoppingToken);
            finished.TrySetResult();
        })
        {
            IsBackground = true,
            Name = "kafka " + endpoint.Queue,
        };
        thread.Start();
        return finished.Task;
    }

    void Run(KafkaEndpoint endpoint, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                new GroupMember(this, endpoint).Run(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                _logger.LogError(exception, "Kafka consumer of {Endpoint} failed; it rejoins its group", endpoint.Queue);
                if (stoppingToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(1)))
                    return;
            }
        }
    }

    // librdkafka's own log at its level, except the reset of a position the cluster no longer has
    // (retention removed records before the group processed them): those records are skipped, so
    // it is an error an operator must see.
    void LogClient(string queue, LogMessage message) =>
        _logger.Log(ClientLogLevel(message), "Kafka consumer of {Endpoint}: {Facility} {Message}", queue, message.Facility, message.Message);

    internal static LogLevel ClientLogLevel(LogMessage message) =>
        message.Message.Contains("Offset out of range", StringComparison.Ordinal)
            ? LogLevel.Error
            : (LogLevel)message.LevelAs(LogLevelType.MicrosoftExtensionsLogging);

    /// <summary>One consumer of one endpoint's group: the poll loop and a worker per assigned partition.</summary>
    sealed class GroupMember(KafkaConsumerService service, KafkaEndpoint endpoint)
    {
        readonly Backlog _backlog = new();
        readonly Dictionary<TopicPartition, PartitionWorker> _workers = [];
        readonly HashSet<TopicPartition> _paused = [];
        readonly SemaphoreSlim _inFlight = new(Math.Max(1, service._options.Transport.PrefetchCount));
        // Never fewer than are handled at once.
        readonly int _maxHeld = Math.Max(service._options.Transport.Kafka.MaxBuffered, service._options.Transport.PrefetchCount);
        readonly long _maxBytes = service._options.Transport.Kafka.MaxBufferedBytes;
        readonly ISendEndpoint _target = service._pipelines[endpoint.Queue];

        public void Run(CancellationToken stoppingToken)
        {
            var kafka = service._options.Transport.Kafka;
            var config = service._topology.ConsumerClient();
            config.GroupId = endpoint.Queue;
            config.GroupProtocol = kafka.GroupProtocol;
            config.IsolationLevel = IsolationLevel.ReadCommitted;
            config.AutoOffsetReset = kafka.StartFrom;
            config.EnableAutoCommit = true;
            config.EnableAutoOffsetStore = false;
            config.AutoCommitIntervalMs = (int)kafka.CommitInterval.TotalMilliseconds;
            config.TopicMetadataRefreshIntervalMs = 5_000; // new aggregate topics join the pattern subscription quickly
            // Created before subscribing: the group names them, and on the consumer group protocol
            // a topic created after the group subscribed was never assigned. One the cluster would
            // not create is logged there; the group still reads the topics that exist.
            foreach (var topic in service._topology.MessageTopicsOf(endpoint))
                service._topology.EnsureTopicAsync(topic, stoppingToken).GetAwaiter().GetResult();
            var consumer = new ConsumerBuilder<string, byte[]>(config)
                .SetPartitionsAssignedHandler((_, partitions) =>
                {
                    foreach (var partition in partitions)
                        Start(partition, stoppingToken);
                })
                .SetPartitionsRevokedHandler((c, partitions) => Stop(c, partitions.Select(p => p.TopicPartition)))
                .SetPartitionsLostHandler((c, partitions) => Stop(c, partitions.Select(p => p.TopicPartition)))
                .SetLogHandler((_, message) => service.LogClient(endpoint.Queue, message))
                .SetErrorHandler((_, error) =>
                {
                    if (error.IsFatal)
                        service._logger.LogError("Kafka consumer of {Endpoint}: {Error}", endpoint.Queue, error);
                })
                .Build();
            consumer.Subscribe(service._topology.SubscriptionFor(endpoint));
            var measured = Environment.TickCount64;
            var peak = 0;
            var peakBytes = 0L;
            try
            {
                while (!stoppingToken.IsCancellationRequested)
                {
                    if ((_backlog.Count >= _maxHeld || _backlog.Bytes >= _maxBytes) && !HasRoom())
                        WaitForRoom();
                    else
                    {
                        ConsumeResult<string, byte[]> record;
                        try
                        {
                            record = consumer.Consume(TimeSpan.FromMilliseconds(50));
                        }
                        catch (ConsumeException exception) when (exception.Error.Code == ErrorCode.UnknownTopicOrPart)
                        {
                            // A command or message topic the group names that nobody created yet
                            // (CreateTopics off): the group goes on with the others and, on the classic
                            // protocol, takes the topic up once it exists. Rejoining over it, as any
                            // other error does, left the group consuming nothing.
                            service._logger.LogWarning("Kafka consumer of {Endpoint}: {Reason}", endpoint.Queue, exception.Error.Reason);
                            continue;
                        }
                        if (record is { IsPartitionEOF: false, Message: not null } && _workers.TryGetValue(record.TopicPartition, out var worker))
                        {
                            worker.Enqueue(record);
                            if (worker.Buffered >= kafka.MaxBufferedPerPartition && _paused.Add(record.TopicPartition))
                                consumer.Pause([record.TopicPartition]);
                            if (_backlog.Count > peak)
                            {
                                peak = _backlog.Count;
                                PeakHeld.AddOrUpdate(endpoint.Queue, peak, (_, other) => Math.Max(other, peak));
                            }
                            if (_backlog.Bytes > peakBytes)
                            {
                                peakBytes = _backlog.Bytes;
                                PeakHeldBytes.AddOrUpdate(endpoint.Queue, peakBytes, (_, other) => Math.Max(other, peakBytes));
                            }
                        }
                    }
                    StoreProcessed(consumer);
                    ResumeDrained(consumer);
                    if (Environment.TickCount64 - measured > 1_000)
                    {
                        MeasureLag(consumer);
                        measured = Environment.TickCount64;
                    }
                }
            }
            finally
            {
                Stop(consumer, _workers.Keys.ToArray());
                // Close commits the stored offsets and leaves the group; bounded, since it can hang
                // when the cluster is gone.
                var closing = Task.Run(consumer.Close);
                try
                {
                    closing.Wait(TimeSpan.FromSeconds(10));
                }
                catch (AggregateException exception)
                {
                    service._logger.LogWarning(exception.InnerException, "Kafka consumer of {Endpoint} failed to leave its group cleanly", endpoint.Queue);
                }
                if (closing.IsCompleted)
                    consumer.Dispose();
                else // not disposed under a Close still running: that could crash the process
                    service._logger.LogWarning("Kafka consumer of {Endpoint} did not leave its group within 10 s; its partitions move after the session timeout", endpoint.Queue);
            }
        }

        // Whether the records held, apart from those of paused partitions and of partitions none of
        // whose records finished lately (stuck behind one record), leave room under MaxBuffered and
        // MaxBufferedBytes. With none held there is always room: a record larger than
        // MaxBufferedBytes still passes, alone.
        bool HasRoom()
        {
            var (records, bytes) = Held();
            return records < _maxHeld && (bytes < _maxBytes || records == 0);
        }

        (int Records, long Bytes) Held()
        {
            var now = Environment.TickCount64;
            var stalledAfter = (long)service._options.Transport.Kafka.StalledAfter.TotalMilliseconds;
            var records = _backlog.Count;
            var bytes = _backlog.Bytes;
            foreach (var (partition, worker) in _workers)
            {
                if (_paused.Contains(partition) || worker.StalledAt(now, stalledAfter))
                {
                    records -= worker.Buffered;
                    bytes -= worker.BufferedBytes;
                }
            }
            return (records, bytes);
        }

        // Until the workers are down to three quarters of MaxBuffered, not merely one record below
        // it: the loop then takes a run of records per wake-up instead of waking once a record (a
        // thread switch per record cost the poll thread a fifth of its time). At most 50 ms: the
        // loop still stores offsets and measures lag.
        void WaitForRoom()
        {
            var (records, bytes) = Held();
            var wakeAtRecords = _backlog.Count - (records - _maxHeld * 3 / 4);
            var wakeAtBytes = _backlog.Bytes - (bytes - _maxBytes / 4 * 3);
            _backlog.Arm(wakeAtRecords, wakeAtBytes);
            if (_backlog.Count > wakeAtRecords || _backlog.Bytes > wakeAtBytes)
                _backlog.Wait(TimeSpan.FromMilliseconds(50));
            _backlog.Disarm();
        }

        void Start(TopicPartition partition, CancellationToken stoppingToken)
        {
            if (_workers.Remove(partition, out var old))
                old.Cancel();
            _workers[partition] = new PartitionWorker(service, endpoint, _target, _inFlight, _backlog, stoppingToken);
        }

        void Stop(IConsumer<string, byte[]> consumer, IEnumerable<TopicPartition> partitions)
        {
            foreach (var partition in partitions)
            {
                if (_workers.Remove(partition, out var worker))
                {
                    worker.Cancel(); // nothing finishes for it after this
                    // What finished before the revocation is still ours to store; librdkafka
                    // commits it before the partition moves. Where that fails (a lost partition),
                    // its next owner processes those records again and the inbox skips them.
                    try
                    {
                        Store(consumer, partition, worker);
                    }
                    catch (KafkaException exception)
                    {
                        service._logger.LogWarning("Kafka consumer of {Endpoint} could not store the last offset of {Partition} as it left: {Reason}",
                            endpoint.Queue, partition, exception.Error.Reason);
                    }
                }
                _paused.Remove(partition);
                Lag.TryRemove((endpoint.Queue, partition.Topic, partition.Partition.Value), out _);
            }
        }

        // Each worker keeps the last offset it finished without a gap before it; the poll thread
        // stores it when it moved. Stored offsets are committed every CommitInterval.
        void StoreProcessed(IConsumer<string, byte[]> consumer)
        {
            foreach (var (partition, worker) in _workers)
                Store(consumer, partition, worker);
        }

        static void Store(IConsumer<string, byte[]> consumer, TopicPartition partition, PartitionWorker worker)
        {
            var done = worker.DoneUpTo;
            if (done <= worker.Stored)
                return;
            worker.Stored = done;
            try
            {
                consumer.StoreOffset(new TopicPartitionOffset(partition, done + 1));
            }
            catch (KafkaException exception) when (exception.Error.Code is ErrorCode.Local_State or ErrorCode.Local_UnknownPartition)
            {
            }
        }

        void ResumeDrained(IConsumer<string, byte[]> consumer)
        {
            if (_paused.Count == 0)
                return;
            var drained = _paused.Where(p => !_workers.TryGetValue(p, out var w) || w.Buffered < service._options.Transport.Kafka.MaxBufferedPerPartition / 2).ToArray();
            if (drained.Length == 0)
                return;
            consumer.Resume(drained);
            foreach (var partition in drained)
                _paused.Remove(partition);
        }

        void MeasureLag(IConsumer<string, byte[]> consumer)
        {
            foreach (var (partition, worker) in _workers)
            {
                var high = consumer.GetWatermarkOffsets(partition).High;
                var position = consumer.Position(partition);
                if (high == Offset.Unset || position == Offset.Unset)
                    continue;
                Lag[(endpoint.Queue, partition.Topic, partition.Partition.Value)] = Math.Max(0, high.Value - position.Value) + worker.Buffered;
            }
        }
    }

    /// <summary>
    /// Hands one partition's records to the endpoint: records of one key (one aggregate) one after
    /// another in offset order, records of different keys concurrently, at most the endpoint's
    /// <c>PrefetchCount</c> at once across its partitions (a record waiting for its key's earlier one
    /// does not count). An offset is reported for commit only
    /// when every record before it in the partition is done.
    /// </summary>
    sealed class PartitionWorker : IThreadPoolWorkItem
    {
        readonly CancellationTokenSource _stop;
        readonly KafkaConsumerService _service;
        readonly KafkaEndpoint _endpoint;
        readonly ISendEndpoint _target;
        readonly SemaphoreSlim _inFlight;
        // Every record held, in offset order, until it and every one before it are done.
        readonly Queue<Pending> _pending = new();
        // Records not started yet; under _pending's lock, as is _draining.
        readonly Queue<Pending> _arrived = new();
        // The hand-over of each key's last record (only the drain reads and writes it).
        readonly Dictionary<string, Task> _lastByKey = new(StringComparer.Ordinal);
        readonly Backlog _backlog;
        int _buffered;
        long _bufferedBytes;
        long _movedAt;
        long _doneUpTo = -1;
        bool _cancelled;
        bool _draining;

        public PartitionWorker(KafkaConsumerService service, KafkaEndpoint endpoint, ISendEndpoint target,
            SemaphoreSlim inFlight, Backlog backlog, CancellationToken stoppingToken)
        {
            _service = service;
            _endpoint = endpoint;
            _target = target;
            _inFlight = inFlight;
            _backlog = backlog;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        }

        public int Buffered => Volatile.Read(ref _buffered);

        public long BufferedBytes => Interlocked.Read(ref _bufferedBytes);

        /// <summary>The last offset finished with every record before it (-1: none yet).</summary>
        public long DoneUpTo => Volatile.Read(ref _doneUpTo);

        /// <summary>The last offset the poll thread stored for commit (only it reads and writes this).</summary>
        public long Stored { get; set; } = -1;

        // Records held, none of which finished for stalledAfter ms: stuck behind the partition's first.
        public bool StalledAt(long now, long stalledAfter) => Buffered > 0 && now - Volatile.Read(ref _movedAt) > stalledAfter;

        public void Enqueue(ConsumeResult<string, byte[]> record)
        {
            var size = SizeOf(record.Message);
            if (Interlocked.Increment(ref _buffered) == 1)
                Volatile.Write(ref _movedAt, Environment.TickCount64);
            Interlocked.Add(ref _bufferedBytes, size);
            _backlog.Add(1, size);
            var pending = new Pending(record, size);
            lock (_pending)
            {
                _pending.Enqueue(pending);
                _arrived.Enqueue(pending);
                if (_draining)
                    return;
                _draining = true;
            }
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        // On the thread pool, one drain of a partition at a time: starts every record that arrived,
        // each after the same key's earlier record. A record whose pipeline completes without
        // waiting (an in-memory consumer) is done before the next one starts, on this thread; one
        // that waits (I/O, a retry's delay, a handler slot) goes on without holding the drain. Records
        // arrive from the poll thread in runs, so one drain takes many: a thread-pool hand-over per
        // record, as a channel read per partition was, cost a fifth of the consumer's CPU.
        void IThreadPoolWorkItem.Execute()
        {
            var token = _stop.Token;
            while (true)
            {
                Pending? pending;
                lock (_pending)
                {
                    if (!_arrived.TryDequeue(out pending) || _cancelled)
                    {
                        _arrived.Clear();
                        _draining = false;
                        return;
                    }
                }
                var key = pending.Record.Message.Key ?? "";
                _lastByKey.TryGetValue(key, out var previous);
                _lastByKey[key] = ProcessAsync(previous, pending, token);
                if (_lastByKey.Count > 4_096)
                {
                    foreach (var finished in _lastByKey.Where(k => k.Value.IsCompleted).Select(k => k.Key).ToArray())
                        _lastByKey.Remove(finished);
                }
            }
        }

        // About the record's bytes on the wire: key, value and headers.
        static int SizeOf(Message<string, byte[]> message)
        {
            var size = (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
            if (message.Headers is { } headers)
            {
                for (var i = 0; i < headers.Count; i++)
                    size += headers[i].Key.Length + (headers[i].GetValueBytes()?.Length ?? 0);
            }
            return size;
        }

        // Called on the poll thread (also from librdkafka's rebalance callbacks): the records' own
        // continuations run elsewhere, never inline here. What it held no longer counts.
        public void Cancel()
        {
            lock (_pending)
            {
                _cancelled = true;
                _backlog.Add(-_buffered, -_bufferedBytes);
            }
            _ = _stop.CancelAsync();
        }

        // A handler slot is taken only once the aggregate's earlier record is done: records waiting
        // behind one being retried hold none, so they cannot take every slot and stop the other
        // aggregates. How many wait at once is bounded by what the member holds (MaxBuffered).
        async Task ProcessAsync(Task? previous, Pending pending, CancellationToken token)
        {
            var slot = false;
            try
            {
                if (previous is not null)
                    await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // the same aggregate's earlier record first
                var record = pending.Record;
                var headers = RecordHeaders.Read(record.Message.Headers);
                var decoded = headers.Malformed ? null : Decode(record, headers);
                if (decoded?.NewerSchemaVersion is { } newer)
                    await HoldAsync(record, decoded.Value, newer, token).ConfigureAwait(false); // without a handler slot
                await _inFlight.WaitAsync(token).ConfigureAwait(false);
                slot = true;
                await HandleAsync(record, headers, decoded, token).ConfigureAwait(false);
                pending.Done = true;
            }
            catch (OperationCanceledException)
            {
                // Not processed: its offset, and every later one, stays uncommitted.
            }
            catch (Exception exception)
            {
                // The hand-over itself failed (the endpoint's failures are its retries' and dead
                // letters', and a record that cannot be read is dead-lettered): never silently. The
                // record is not done, so its offset and every later one stay uncommitted, and the
                // partition's next owner, or this member after a restart, reads it again.
                _service._logger.LogError(exception, "{Endpoint} failed on Kafka record {Topic}[{Partition}]@{Offset}; its partition is not committed past it",
                    _endpoint.Queue, pending.Record.Topic, pending.Record.Partition.Value, pending.Record.Offset.Value);
            }
            finally
            {
                if (slot)
                    _inFlight.Release();
                ReportDone();
            }
        }

        // The committable offset is the last of the records done without a gap before it.
        void ReportDone()
        {
            var finished = 0;
            var bytes = 0L;
            lock (_pending)
            {
                if (_cancelled)
                    return; // revoked: the next owner commits what comes after the last stored offset
                while (_pending.TryPeek(out var head) && head.Done)
                {
                    _pending.Dequeue();
                    Interlocked.Decrement(ref _buffered);
                    Volatile.Write(ref _doneUpTo, head.Offset);
                    finished++;
                    bytes += head.Size;
                }
                if (finished > 0)
                {
                    Interlocked.Add(ref _bufferedBytes, -bytes);
                    Volatile.Write(ref _movedAt, Environment.TickCount64);
                    _backlog.Add(-finished, -bytes);
                }
            }
        }

        // Retried until it succeeds or the partition is taken away: a record is never skipped. The
        // endpoint's own retries and dead letters run inside; failing here means the hand-over
        // itself failed (e.g. the dead-letter table was unreachable).
        async Task HandleAsync(ConsumeResult<string, byte[]> record, RecordHeaders headers, Decoded? read, CancellationToken token)
        {
            if (headers.Malformed)
            {
                // No type can be read for it, so no endpoint can take it: a poison record for every
                // group that reads its topic, dead-lettered as of an unknown type (platform dlq shows
                // it and its headers as they came; replaying it only makes it Dead again).
                var malformed = new UnreadableRecordException(
                    $"Kafka record {record.Topic}[{record.Partition.Value}]@{record.Offset.Value} has a {PackedEventHeaders.Name} header that is not a JSON object of strings: no type can be read for it");
                var letter = await DeadLetterAsync(record, headers, malformed, null, DeadLetter.UnknownMessageType, null, token).ConfigureAwait(false);
                _service._logger.LogError("{Endpoint} cannot read Kafka record {Topic}[{Partition}]@{Offset}: its {Header} header is not a JSON object of strings; dead letter {DeadLetterId}",
                    _endpoint.Queue, record.Topic, record.Partition.Value, record.Offset.Value, PackedEventHeaders.Name, letter.Id);
                return;
            }
            if (read is not { } decoded)
                return;
            if (decoded.Error is { } error)
            {
                var unreadable = new UnreadableRecordException(
                    $"Kafka record {record.Topic}[{record.Partition.Value}]@{record.Offset.Value} is not a {decoded.Type.Name} this endpoint can read: {error.Message}", error);
                var letter = await DeadLetterAsync(record, headers, unreadable, decoded.Ids.MessageId, decoded.Type.AssemblyQualifiedName!, decoded.EventType, token)
                    .ConfigureAwait(false);
                _service._logger.LogError(error, "{Endpoint} cannot read Kafka record {Topic}[{Partition}]@{Offset} as {Type}; dead letter {DeadLetterId}",
                    _endpoint.Queue, record.Topic, record.Partition.Value, record.Offset.Value, decoded.Type.Name, letter.Id);
                return;
            }
            // The trace goes on from the record's producer (the relay's publish, or a consumer's),
            // as it does over the other transports: MassTransit's consume activity in the mediator
            // starts under this one.
            using var activity = PlatformTelemetry.ActivitySource.HasListeners()
                && ActivityContext.TryParse(headers.Get(MassTransitEventPublisher.TraceParentHeader), headers.Get(MassTransitEventPublisher.TraceStateHeader), out var parent)
                ? PlatformTelemetry.ActivitySource.StartActivity("platform.receive " + record.Topic, ActivityKind.Consumer, parent)
                : null;
            activity?.SetTag("messaging.system", "kafka");
            activity?.SetTag("messaging.destination.name", record.Topic);
            activity?.SetTag("messaging.consumer.group.name", _endpoint.Queue);
            activity?.SetTag("messaging.destination.partition.id", record.Partition.Value);
            activity?.SetTag("messaging.kafka.offset", record.Offset.Value);
            var pipe = new RecordPipe(headers, decoded.Ids);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _target.Send(decoded.Message!, decoded.Type, pipe, token).ConfigureAwait(false);
                    return;
                }
                catch (Exception exception) when (!token.IsCancellationRequested)
                {
                    _service._logger.LogError(exception,
                        "{Endpoint} could not take Kafka record {Topic}[{Partition}]@{Offset} (attempt {Attempt}); retrying it before the rest of the partition",
                        _endpoint.Queue, record.Topic, record.Partition.Value, record.Offset.Value, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * attempt)), token).ConfigureAwait(false);
                }
            }
        }

        // A stored event written by a newer build (a schema version this one does not know): no
        // instance of this build can read it, one of the newer build will, in order, once it owns
        // the partition (deploy it everywhere before writing the version, the runbook says). So it
        // is held, with its key's later records, and its partition's committed offset stays before
        // it; the partition's other keys go on, and it holds none of the endpoint's handler slots.
        // Ends only when the partition is taken away.
        // Each held record is logged once, then reminded of at most once a minute per endpoint: a
        // newer build's events can hold many keys at once.
        async Task HoldAsync(ConsumeResult<string, byte[]> record, Decoded decoded, int version, CancellationToken token)
        {
            var reminders = _service._heldRemindedAt;
            for (var first = true; ; first = false)
            {
                var now = Environment.TickCount64;
                if (first || now - reminders.GetOrAdd(_endpoint.Queue, 0L) >= 60_000)
                {
                    reminders[_endpoint.Queue] = now;
                    _service._logger.LogError(
                        "{Endpoint} holds Kafka record {Topic}[{Partition}]@{Offset} and the later records of its key: {EventType} schema version {Version} was written by a newer build (this one knows up to {Known}); deploy that build to every instance",
                        _endpoint.Queue, record.Topic, record.Partition.Value, record.Offset.Value, decoded.EventType, version, decoded.KnownSchemaVersion);
                }
                await Task.Delay(TimeSpan.FromSeconds(15), token).ConfigureAwait(false);
            }
        }

        // A record the endpoint consumes by its headers but cannot read is a poison message: no retry
        // can read it either. It is dead-lettered as one its consumer failed on is (the table, the
        // dead-letter topic, platform dlq), with the payload as it came, and the partition and the
        // record's key go on; it stays on its topic too. Retried until the letter is stored.
        async Task<DeadLetter> DeadLetterAsync(ConsumeResult<string, byte[]> record, RecordHeaders headers, UnreadableRecordException unreadable,
            Guid? messageId, string messageType, string? eventType, CancellationToken token)
        {
            var all = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in headers.All)
                all[name] = value;
            var isEvent = eventType is not null;
            var letter = new DeadLetter(Guid.CreateVersion7(), _endpoint.Queue, _endpoint.Queue, messageId?.ToString("D"),
                messageType, eventType, isEvent ? headers.Get(PlatformHeaders.StreamId) : null,
                isEvent ? DeadLetterFilter.ParseLong(headers.Get(PlatformHeaders.StreamVersion)) : null,
                isEvent ? DeadLetterFilter.ParseLong(headers.Get(PlatformHeaders.GlobalPosition)) : null,
                JsonSerializer.Serialize(all, DeadLetterFilter.Json), Encoding.UTF8.GetString(record.Message.Value ?? []),
                unreadable.GetType().FullName!, unreadable.Message, unreadable.ToString(), 1, DateTimeOffset.UtcNow, DeadLetterState.Dead, null);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await DeadLetterFilter.WriteAsync(_service._deadLetters, _service._deadLetterSink, _service._logger, letter).ConfigureAwait(false);
                    return letter;
                }
                catch (Exception exception) when (!token.IsCancellationRequested)
                {
                    _service._logger.LogError(exception, "{Endpoint} could not dead-letter unreadable Kafka record {Topic}[{Partition}]@{Offset} (attempt {Attempt}); retrying it before the rest of the partition",
                        _endpoint.Queue, record.Topic, record.Partition.Value, record.Offset.Value, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * attempt)), token).ConfigureAwait(false);
                }
            }
        }

        // A command or message (by its message type header, to one of the types this endpoint
        // consumes: never a type looked up by a name read from the wire) or a stored event (by its
        // event type header, through the registry); null for what this endpoint does not consume,
        // with the error for what it consumes but cannot read.
        // The message type first: a message published while a stored event was consumed carries
        // that event's headers too (MassTransit copies them), and is not that event.
        Decoded? Decode(ConsumeResult<string, byte[]> record, RecordHeaders headers)
        {
            if (headers.Get(KafkaMessageHeaders.MessageType) is { } typeName)
                return _endpoint.MessageTypes.TryGetValue(typeName, out var type) ? DecodeMessage(record, headers, type) : null;
            if (headers.Get(PlatformHeaders.EventType) is not { } eventType
                || !_service._registry.TryGet(eventType, out var descriptor) || !_endpoint.EventTypes.Contains(descriptor.ClrType))
                return null; // an event this endpoint does not consume, or of a type this runtime does not know
            var ids = new RecordIds(MessageId: headers.Guid(PlatformHeaders.EventId), CorrelationId: headers.Guid(PlatformHeaders.CorrelationId));
            var version = int.TryParse(headers.Get(PlatformHeaders.SchemaVersion), NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                ? v : descriptor.SchemaVersion;
            if (version > descriptor.SchemaVersion)
                return new Decoded(null, descriptor.ClrType, ids, descriptor.TypeName, NewerSchemaVersion: version, KnownSchemaVersion: descriptor.SchemaVersion);
            try
            {
                return new Decoded(descriptor.Deserialize(record.Message.Value, version), descriptor.ClrType, ids, descriptor.TypeName);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return new Decoded(null, descriptor.ClrType, ids, descriptor.TypeName, exception);
            }
        }

        Decoded DecodeMessage(ConsumeResult<string, byte[]> record, RecordHeaders headers, Type type)
        {
            var ids = new RecordIds(headers.Guid(KafkaMessageHeaders.MessageId), headers.Guid(KafkaMessageHeaders.CorrelationId),
                headers.Guid(KafkaMessageHeaders.ConversationId), headers.Guid(KafkaMessageHeaders.InitiatorId));
            try
            {
                return new Decoded(JsonSerializer.Deserialize(record.Message.Value, type, MessageDelivery.Json) ?? throw new JsonException("The value is null."),
                    type, ids);
            }
            catch (Exception exception) when (exception is JsonException or NotSupportedException)
            {
                return new Decoded(null, type, ids, Error: exception);
            }
        }
    }

    /// <summary>
    /// The records a group member holds, over all its partitions, and the poll loop's wait for room:
    /// workers wake it only while it waits, once the count is down to where it asked to be woken.
    /// </summary>
    sealed class Backlog
    {
        readonly ManualResetEventSlim _room = new();
        int _count;
        long _bytes;
        int _wakeAtRecords;
        long _wakeAtBytes;
        int _waiting;

        public int Count => Volatile.Read(ref _count);

        public long Bytes => Interlocked.Read(ref _bytes);

        public void Add(int records, long bytes)
        {
            var count = Interlocked.Add(ref _count, records);
            var total = Interlocked.Add(ref _bytes, bytes);
            if (records < 0 && Volatile.Read(ref _waiting) != 0 && count <= Volatile.Read(ref _wakeAtRecords) && total <= Interlocked.Read(ref _wakeAtBytes))
                _room.Set();
        }

        // Armed before the last look at the counts, so a record finished after that look wakes the wait.
        public void Arm(int wakeAtRecords, long wakeAtBytes)
        {
            _room.Reset();
            Volatile.Write(ref _wakeAtRecords, wakeAtRecords);
            Interlocked.Exchange(ref _wakeAtBytes, wakeAtBytes);
            Interlocked.Exchange(ref _waiting, 1);
        }

        public void Wait(TimeSpan timeout) => _room.Wait(timeout);

        public void Disarm() => Volatile.Write(ref _waiting, 0);
    }

    /// <summary>A record a partition worker holds: its offset, its size, and whether its endpoint is done with it.</summary>
    sealed class Pending(ConsumeResult<string, byte[]> record, int size)
    {
        public ConsumeResult<string, byte[]> Record => record;

        public long Offset => record.Offset.Value;

        public int Size => size;

        // Set before the record's ReportDone, which reads it under the same lock as every later one.
        public volatile bool Done;
    }

    /// <summary>
    /// A record the endpoint consumes, read: the message and its type, or the type its headers name
    /// and why it could not be read (<see cref="Error"/>, or a schema version newer than this build
    /// knows); <see cref="EventType"/> for a stored event.
    /// </summary>
    readonly record struct Decoded(object? Message, Type Type, RecordIds Ids, string? EventType = null, Exception? Error = null,
        int? NewerSchemaVersion = null, int KnownSchemaVersion = 0);

    /// <summary>The MassTransit ids a record's headers give the send into the endpoint's mediator.</summary>
    readonly record struct RecordIds(Guid? MessageId, Guid? CorrelationId, Guid? ConversationId = null, Guid? InitiatorId = null);

    /// <summary>A record's headers, each read and decoded from UTF-8 once; the last of a name wins.</summary>
    sealed class RecordHeaders
    {
        readonly IReadOnlyList<KeyValuePair<string, string>> _headers;

        RecordHeaders(IReadOnlyList<KeyValuePair<string, string>> headers, bool malformed = false)
        {
            _headers = headers;
            Malformed = malformed;
        }

        public IReadOnlyList<KeyValuePair<string, string>> All => _headers;

        /// <summary>Whether a packed <c>Platform-Event</c> header was not a JSON object of strings.</summary>
        public bool Malformed { get; }

        // Separate headers, or the packed form (PackedEventHeaders) unpacked where it stands.
        public static RecordHeaders Read(Confluent.Kafka.Headers? headers)
        {
            if (headers is null || headers.Count == 0)
                return new RecordHeaders([]);
            var packed = -1;
            for (var i = 0; i < headers.Count && packed < 0; i++)
            {
                if (string.Equals(headers[i].Key, PackedEventHeaders.Name, StringComparison.Ordinal))
                    packed = i;
            }
            // A header without a value (Kafka allows one) has no string to give: left out.
            var all = new List<KeyValuePair<string, string>>(headers.Count + (packed < 0 ? 0 : 8));
            var malformed = false;
            for (var i = 0; i < headers.Count; i++)
            {
                if (headers[i].GetValueBytes() is not { } value)
                    continue;
                var isPacked = packed >= 0 && string.Equals(headers[i].Key, PackedEventHeaders.Name, StringComparison.Ordinal);
                if (isPacked && PackedEventHeaders.TryUnpack(value, all))
                    continue;
                // Kept as it came when it is not a packed header, or a malformed one (for its dead letter).
                malformed |= isPacked;
                all.Add(new KeyValuePair<string, string>(headers[i].Key, Encoding.UTF8.GetString(value)));
            }
            return new RecordHeaders(all, malformed);
        }

        public string? Get(string name)
        {
            for (var i = _headers.Count - 1; i >= 0; i--)
            {
                if (string.Equals(_headers[i].Key, name, StringComparison.Ordinal))
                    return _headers[i].Value;
            }
            return null;
        }

        public Guid? Guid(string name) => System.Guid.TryParse(Get(name), out var value) ? value : null;
    }

    /// <summary>Gives the send into the mediator the record's ids and headers.</summary>
    sealed class RecordPipe(RecordHeaders headers, RecordIds ids) : IPipe<SendContext>
    {
        public Task Send(SendContext context)
        {
            if (ids.MessageId is { } messageId)
                context.MessageId = messageId;
            if (ids.CorrelationId is { } correlationId)
                context.CorrelationId = correlationId;
            if (ids.ConversationId is { } conversationId)
                context.ConversationId = conversationId;
            if (ids.InitiatorId is { } initiatorId)
                context.InitiatorId = initiatorId;
            foreach (var (name, value) in headers.All)
                context.Headers.Set(name, value);
            return Task.CompletedTask;
        }

        public void Probe(ProbeContext context) => context.CreateScope("platform-kafka-record");
    }
}
