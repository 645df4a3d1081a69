using System.Buffers;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Runtime.Messaging;

namespace Platform.Runtime.Kafka;

/// <summary>
/// The outbox relay's <see cref="IEventPublisher"/> on Kafka: each batch is written in one Kafka
/// transaction by an idempotent producer, every event to its aggregate type's topic keyed by its
/// stream id (so a stream's events keep their order in one partition), with the platform's headers
/// and the command's trace context. A batch whose transaction fails is aborted and the relay sends
/// it again; read-committed consumers never see the aborted copy.
/// </summary>
public sealed class KafkaEventPublisher : IEventPublisher, IDisposable
{
    readonly KafkaTopology _topology;
    readonly EventTypeRegistry _registry;
    readonly ILogger<KafkaEventPublisher> _logger;
    readonly Lazy<IProducer<string, byte[]>> _producer;
    readonly bool _pack;
    bool _initialized;

    /// <summary>Creates the publisher; the producer connects on the first batch.</summary>
    /// <param name="topology">Topics and client settings.</param>
    /// <param name="registry">Serializers of the stored event types.</param>
    /// <param name="options">The runtime's options.</param>
    /// <param name="logger">Where aborted transactions are logged.</param>
    public KafkaEventPublisher(KafkaTopology topology, EventTypeRegistry registry, PlatformOptions options, ILogger<KafkaEventPublisher> logger)
    {
        _topology = topology;
        _registry = registry;
        _logger = logger;
        var kafka = options.Transport.Kafka;
        _pack = kafka.PackEventHeaders;
        var transactionalId = string.IsNullOrWhiteSpace(kafka.TransactionalId)
            ? $"{options.Transport.QueuePrefix}-relay-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}"
            : kafka.TransactionalId;
        _producer = new Lazy<IProducer<string, byte[]>>(() =>
        {
            var config = topology.ProducerClient();
            config.EnableIdempotence = true;
            config.Acks = Acks.All;
            config.TransactionalId = transactionalId;
            config.LingerMs = 5;
            // The commit fails if any record of its transaction failed: no record needs a report
            // of its own, which librdkafka would otherwise hand back to .NET one by one.
            config.EnableDeliveryReports = false;
            return new ProducerBuilder<string, byte[]>(config).Build();
        });
    }

    /// <inheritdoc />
    public async Task PublishAsync(IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
            return;
        string? ensured = null;
        foreach (var envelope in events)
        {
            var topic = _topology.TopicFor(envelope.StreamType);
            if (!ReferenceEquals(topic, ensured))
                await _topology.EnsureTopicAsync(topic, cancellationToken).ConfigureAwait(false);
            ensured = topic;
        }

        // The transactional calls block; they run off the relay's async flow.
        await Task.Run(() => Write(events, cancellationToken), cancellationToken).ConfigureAwait(false);
        PlatformTelemetry.EventsPublished.Add(events.Count);
    }

    // Each record is built and handed to librdkafka (which copies it) one at a time: a batch's
    // records, held until its commit, outlived the young generation and made half the collections
    // of a consuming runtime full gen-1 ones.
    void Write(IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken)
    {
        var producer = _producer.Value;
        var timeout = TimeSpan.FromSeconds(30);
        if (!_initialized)
        {
            producer.InitTransactions(timeout);
            _initialized = true;
        }
        producer.BeginTransaction();
        try
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            var packer = _pack ? new PackedEventHeaders.Writer() : null;
            foreach (var envelope in events)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var message = ToMessage(envelope, buffer, packer);
                try
                {
                    producer.Produce(_topology.TopicFor(envelope.StreamType), message);
                }
                catch (ProduceException<string, byte[]> exception) when (exception.Error.Code == ErrorCode.MsgSizeTooLarge)
                {
                    // The relay stops at it and retries, never skipping an event: say which one, and what to raise.
                    throw new InvalidOperationException(
                        $"Event {envelope.TypeName} of stream '{envelope.StreamId}' at version {envelope.StreamVersion}, global position " +
                        $"{envelope.GlobalPosition}, is a Kafka record of about {message.Value.Length + Encoding.UTF8.GetByteCount(message.Key)} bytes " +
                        "with its headers, more than the producer's message.max.bytes allows. The relay publishes nothing after it until the " +
                        "limit is raised (Transport:Kafka:Producer:message.max.bytes, and the topic's max.message.bytes on the cluster).", exception);
                }
            }
            // The commit flushes what is still queued and fails if any record of the transaction
            // failed, so no delivery report is needed per record.
            producer.CommitTransaction(timeout);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Kafka transaction of {Count} events aborted; the relay sends the batch again", events.Count);
            try
            {
                producer.AbortTransaction(timeout);
            }
            catch (KafkaException abort) when (abort.Error.IsFatal)
            {
                // A fenced or fatally failed producer cannot go on: the next batch starts a new one.
                _initialized = false;
                throw;
            }
            throw;
        }
    }

    Message<string, byte[]> ToMessage(EventEnvelope envelope, ArrayBufferWriter<byte> buffer, PackedEventHeaders.Writer? packer)
    {
        buffer.ResetWrittenCount();
        var descriptor = _registry.Get(envelope.Event.GetType());
        descriptor.Serialize(envelope.Event, buffer);
        var headers = new Headers();
        using (var activity = RelayMessage.StartActivity(envelope, "kafka"))
        {
            // The serializer writes the current version (the payload was upcast when it was read),
            // and the consumer deserializes by this header.
            if (packer is not null)
                packer.Write(envelope, descriptor.SchemaVersion, activity, headers);
            else
                RelayMessage.WriteHeaders(envelope, descriptor.SchemaVersion, activity, headers,
                    static (headers, name, value) => headers.Add(name, Encoding.UTF8.GetBytes(value)));
        }
        return new Message<string, byte[]> { Key = envelope.StreamId, Value = buffer.WrittenSpan.ToArray(), Headers = headers };
    }

    /// <summary>Flushes and closes the producer.</summary>
    public void Dispose()
    {
        if (_producer.IsValueCreated)
            _producer.Value.Dispose();
    }
}
