using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using MassTransit;
using Platform.Messaging;
using Platform.Runtime.Messaging;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Kafka;

/// <summary>The Kafka headers of a command or message record, besides its application headers.</summary>
static class KafkaMessageHeaders
{
    /// <summary>The message id, which the receivers' inboxes deduplicate by.</summary>
    public const string MessageId = "Platform-Message-Id";

    /// <summary>The type's name (<see cref="KafkaTopology.MessageTypeName"/>); the consumer maps it to a type it consumes.</summary>
    public const string MessageType = "Platform-Message-Type";

    /// <summary>MassTransit's conversation id.</summary>
    public const string ConversationId = "Platform-Conversation-Id";

    /// <summary>MassTransit's initiator id: the message that caused this one.</summary>
    public const string InitiatorId = "Platform-Initiator-Id";

    /// <summary>MassTransit's correlation id (a saga instance), not the flow's <c>Platform-Correlation-Id</c>.</summary>
    public const string CorrelationId = "Platform-Message-Correlation-Id";

    /// <summary>
    /// Whether a header describes one Kafka record rather than the message: these are not passed on
    /// when a consumer publishes (MassTransit copies the consumed message's headers to what its
    /// consumer publishes).
    /// </summary>
    /// <param name="name">The header's name.</param>
    public static bool DescribesRecord(string name) =>
        name is MessageId or MessageType or ConversationId or InitiatorId or CorrelationId;
}

/// <summary>A command or message on its way to Kafka.</summary>
/// <param name="Type">The message type.</param>
/// <param name="Body">The message as JSON (System.Text.Json, web defaults).</param>
/// <param name="MessageId">Its message id: the same on every delivery.</param>
/// <param name="ConversationId">MassTransit's conversation id.</param>
/// <param name="InitiatorId">The message that caused it.</param>
/// <param name="CorrelationId">MassTransit's correlation id.</param>
/// <param name="Headers">Application headers (the platform's correlation and causation ids, a timeout's schedule token).</param>
/// <param name="Key">
/// The record key: what must stay in order together. The correlation id when there is one (one
/// saga's messages in one partition; for a saga's outbox message, its saga instance), else the
/// stream of an event sent as a message (a replayed dead letter: a stream's letters replayed
/// together reach the order guard in version order), else the message id.
/// </param>
public sealed record KafkaMessage(Type Type, byte[] Body, Guid MessageId, Guid? ConversationId, Guid? InitiatorId, Guid? CorrelationId,
    IReadOnlyDictionary<string, string> Headers, string Key)
{
    /// <summary>
    /// The record of a message MassTransit is sending or publishing: its ids (a message id is
    /// assigned if it has none), its text and number headers, the message as JSON, keyed by its
    /// correlation id, else its event's stream, else its message id.
    /// </summary>
    /// <param name="context">The send or publish context, after the caller's pipe ran.</param>
    internal static KafkaMessage From<T>(SendContext<T> context) where T : class
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in context.Headers.GetAll())
        {
            if (value is string or IFormattable)
                headers[name] = Convert.ToString(value, CultureInfo.InvariantCulture)!;
        }
        var messageId = context.MessageId ??= NewId.NextGuid();
        return new KafkaMessage(typeof(T), JsonSerializer.SerializeToUtf8Bytes(context.Message, MessageDelivery.Json), messageId,
            context.ConversationId, context.InitiatorId, context.CorrelationId, headers,
            context.CorrelationId?.ToString("D") ?? headers.GetValueOrDefault(PlatformHeaders.StreamId) ?? messageId.ToString("D"));
    }
}

/// <summary>
/// Writes what the runtime sends to a queue (to its command topic) or publishes (to the message
/// type's topic) on Kafka, with an idempotent producer, and returns only when the cluster has the
/// record: an outbox row is marked delivered, and a consumer's publish completes, only after that.
/// A retried send writes the record again with the same message id, which the receiver's inbox skips.
/// </summary>
public sealed class KafkaMessageProducer : IDisposable
{
    readonly KafkaTopology _topology;
    readonly Lazy<IProducer<string, byte[]>> _producer;

    /// <summary>Creates the producer; it connects on the first message.</summary>
    /// <param name="topology">Topics and client settings.</param>
    public KafkaMessageProducer(KafkaTopology topology)
    {
        _topology = topology;
        _producer = new Lazy<IProducer<string, byte[]>>(() =>
        {
            var config = topology.ProducerClient();
            config.EnableIdempotence = true;
            config.Acks = Acks.All;
            config.LingerMs = 1; // each send waits for its delivery report: batching only adds latency
            return new ProducerBuilder<string, byte[]>(config).Build();
        });
    }

    /// <summary>Writes a message sent to a queue to the queue's command topic.</summary>
    /// <param name="destination">The queue's address, e.g. <c>queue:platform-commands</c>.</param>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the wait for the delivery report.</param>
    public Task SendAsync(Uri destination, KafkaMessage message, CancellationToken cancellationToken) =>
        ProduceAsync(_topology.CommandTopicFor(destination), message, cancellationToken);

    /// <summary>Writes a published message to its type's topic.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the wait for the delivery report.</param>
    public Task PublishAsync(KafkaMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ProduceAsync(_topology.MessageTopicFor(message.Type), message, cancellationToken);
    }

    async Task ProduceAsync(string topic, KafkaMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _topology.EnsureTopicAsync(topic, cancellationToken).ConfigureAwait(false);
        var headers = new Confluent.Kafka.Headers();
        void Add(string name, string? value)
        {
            if (value is not null)
                headers.Add(name, Encoding.UTF8.GetBytes(value));
        }
        foreach (var (name, value) in message.Headers.Where(h => !KafkaMessageHeaders.DescribesRecord(h.Key)))
            Add(name, value);
        Add(KafkaMessageHeaders.MessageId, message.MessageId.ToString("D"));
        Add(KafkaMessageHeaders.MessageType, KafkaTopology.MessageTypeName(message.Type));
        Add(KafkaMessageHeaders.ConversationId, message.ConversationId?.ToString("D"));
        Add(KafkaMessageHeaders.InitiatorId, message.InitiatorId?.ToString("D"));
        Add(KafkaMessageHeaders.CorrelationId, message.CorrelationId?.ToString("D"));
        if (!message.Headers.ContainsKey(MassTransitEventPublisher.TraceParentHeader) && Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            Add(MassTransitEventPublisher.TraceParentHeader, activity.Id);
            Add(MassTransitEventPublisher.TraceStateHeader, activity.TraceStateString);
        }
        await _producer.Value.ProduceAsync(topic, new Message<string, byte[]> { Key = message.Key, Value = message.Body, Headers = headers },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Flushes and closes the producer.</summary>
    public void Dispose()
    {
        if (!_producer.IsValueCreated)
            return;
        _producer.Value.Flush(TimeSpan.FromSeconds(5));
        _producer.Value.Dispose();
    }
}
