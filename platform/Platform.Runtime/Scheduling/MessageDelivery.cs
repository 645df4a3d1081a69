using System.Text.Json;
using MassTransit;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Scheduling;

/// <summary>The headers a stored message is delivered with.</summary>
/// <param name="ConversationId">MassTransit's conversation id of the step that produced it.</param>
/// <param name="InitiatorId">The message that caused it.</param>
/// <param name="CorrelationId">MassTransit's correlation id, when the step had one.</param>
/// <param name="Headers">Application headers (the platform's correlation and causation ids).</param>
public sealed record StoredHeaders(Guid? ConversationId, Guid? InitiatorId, Guid? CorrelationId, Dictionary<string, string> Headers);

/// <summary>Sends or publishes a row of <c>scheduled_messages</c> on the bus with its stored id and headers.</summary>
public sealed class MessageDelivery(IBus bus, PlatformOptions options)
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
        var body = JsonSerializer.Deserialize(message.Payload, type, Json)
            ?? throw new InvalidOperationException($"Scheduled message {message.Id}: the payload is empty.");
        var headers = JsonSerializer.Deserialize<StoredHeaders>(message.Headers, Json);
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
        var endpoint = await bus.GetSendEndpoint(new Uri(message.Destination
            ?? throw new InvalidOperationException($"Scheduled message {message.Id} is a send without a destination."))).ConfigureAwait(false);
        await endpoint.Send(body, type, pipe, cancellationToken).ConfigureAwait(false);
    }

    internal PlatformOptions Options => options;
}
