using System.Text;
using Confluent.Kafka;
using MassTransit;

namespace Platform.Runtime.Kafka;

// What a member holds and how a record is read and handed over: the backlog, decoded records, their headers.
public sealed partial class KafkaConsumerService
{
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
