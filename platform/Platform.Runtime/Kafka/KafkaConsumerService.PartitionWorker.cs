using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Messaging;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Messaging;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Kafka;

// One assigned partition's records handed to the endpoint, in order per key.
public sealed partial class KafkaConsumerService
{
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
}
