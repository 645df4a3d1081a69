using Confluent.Kafka;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Platform.Runtime.Kafka;

// One member of an endpoint's consumer group: its poll loop, rebalances and commits.
public sealed partial class KafkaConsumerService
{
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
            else
                Interlocked.Increment(ref service._assigned);
            _workers[partition] = new PartitionWorker(service, endpoint, _target, _inFlight, _backlog, stoppingToken);
        }

        void Stop(IConsumer<string, byte[]> consumer, IEnumerable<TopicPartition> partitions)
        {
            foreach (var partition in partitions)
            {
                if (_workers.Remove(partition, out var worker))
                {
                    Interlocked.Decrement(ref service._assigned);
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
}
