using System.Text;
using System.Text.Json;
using MassTransit;
using Platform.Runtime.Configuration;
using Platform.Runtime.Kafka;

namespace Platform.Runtime.Scheduling;

/// <summary>The headers a stored message is delivered with.</summary>
/// <param name="ConversationId">MassTransit's conversation id of the step that produced it.</param>
/// <param name="InitiatorId">The message that caused it.</param>
/// <param name="CorrelationId">MassTransit's correlation id, when the step had one.</param>
/// <param name="Headers">Application headers (the platform's correlation and causation ids).</param>
public sealed record StoredHeaders(Guid? ConversationId, Guid? InitiatorId, Guid? CorrelationId, Dictionary<string, string> Headers);

/// <summary>
/// Sends or publishes a row of <c>scheduled_messages</c> with its stored id and headers: on the bus,
/// or on Kafka to the destination queue's command topic or the message type's topic (and only then
/// is the row delivered).
/// </summary>
public sealed class MessageDelivery(IBus bus, PlatformOptions options, KafkaMessageProducer? kafka = null)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Delivers one message.</summary>
    /// <param name="message">The stored message.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    public async Task DeliverAsync(ScheduledMessageRow message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = Type.GetType(message.MessageType, throwOnError: false)
            ?? throw new InvalidOperationException($"Scheduled message {message.Id}: type '{message.MessageType}' is not loaded by this runtime.");
        var headers = JsonSerializer.Deserialize<StoredHeaders>(message.Headers, Json);
        if (message.Kind == DeliveryKind.Send && message.Destination is null)
            throw new InvalidOperationException($"Scheduled message {message.Id} is a send without a destination.");
        if (kafka is not null)
        {
            await DeliverOnKafkaAsync(kafka, message, type, headers, cancellationToken).ConfigureAwait(false);
            return;
        }
        var body = JsonSerializer.Deserialize(message.Payload, type, Json)
            ?? throw new InvalidOperationException($"Scheduled message {message.Id}: the payload is empty.");
        var pipe = Pipe.Execute<SendContext>(context =>
        {
            context.MessageId = message.Id;
            // The state machine ignores a timeout whose token is not the saga's current one (stale).
            if (message.TokenId is { } token)
                context.Headers.Set(MessageHeaders.SchedulingTokenId, token.ToString("D"));
            if (headers is null)
                return;
            context.ConversationId = headers.ConversationId ?? context.ConversationId;
            context.InitiatorId = headers.InitiatorId ?? context.InitiatorId;
            context.CorrelationId = headers.CorrelationId ?? context.CorrelationId;
            foreach (var (name, value) in headers.Headers)
                context.Headers.Set(name, value);
        });
        if (message.Kind == DeliveryKind.Publish)
        {
            await bus.Publish(body, type, pipe, cancellationToken).ConfigureAwait(false);
            return;
        }
        var endpoint = await bus.GetSendEndpoint(new Uri(message.Destination!)).ConfigureAwait(false);
        await endpoint.Send(body, type, pipe, cancellationToken).ConfigureAwait(false);
    }

    // The stored JSON is the record's value as it is: it was written with the options the consumer reads it with.
    static Task DeliverOnKafkaAsync(KafkaMessageProducer kafka, ScheduledMessageRow message, Type type, StoredHeaders? headers,
        CancellationToken cancellationToken)
    {
        var applicationHeaders = new Dictionary<string, string>(headers?.Headers ?? [], StringComparer.Ordinal);
        if (message.TokenId is { } token)
            applicationHeaders[MessageHeaders.SchedulingTokenId] = token.ToString("D");
        var key = headers?.CorrelationId?.ToString("D") ?? message.CorrelationId ?? message.Id.ToString("D");
        var record = new KafkaMessage(type, Encoding.UTF8.GetBytes(message.Payload), message.Id, headers?.ConversationId, headers?.InitiatorId,
            headers?.CorrelationId, applicationHeaders, key);
        return message.Kind == DeliveryKind.Publish
            ? kafka.PublishAsync(record, cancellationToken)
            : kafka.SendAsync(new Uri(message.Destination!), record, cancellationToken);
    }

    internal PlatformOptions Options => options;
}
