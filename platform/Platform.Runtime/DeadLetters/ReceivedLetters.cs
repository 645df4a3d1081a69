using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Messaging;

namespace Platform.Runtime.DeadLetters;

/// <summary>The dead letters of messages as received, for the endpoints' error and skipped pipes.</summary>
static class ReceivedLetters
{
    /// <summary>
    /// Stores the letter <paramref name="letter"/> makes; null, with the reason logged, when it
    /// cannot, and the caller passes the message on to MassTransit's <paramref name="queue"/> queue.
    /// </summary>
    public static async Task<DeadLetter?> TryStoreAsync(DeadLetterStore store, IDeadLetterSink? sink, ILogger logger, string endpoint,
        ReceiveContext context, string queue, Func<DeadLetter> letter)
    {
        try
        {
            var made = letter();
            await DeadLetterFilter.WriteAsync(store, sink, logger, made).ConfigureAwait(false);
            return made;
        }
        catch (Exception failure)
        {
            logger.LogError(failure, "{Endpoint} could not store message {MessageId} as a dead letter; MassTransit moves it to the endpoint's {Queue} queue",
                endpoint, context.GetMessageId()?.ToString("D"), queue);
            return null;
        }
    }

    /// <summary>A letter with the message's transport headers (and the stream they name, for an event).</summary>
    public static DeadLetter Create(ReceiveContext context, string consumer, string endpoint, string? envelopeMessageId, string messageType,
        string payload, Exception exception, int attempts)
    {
        var headers = context.TransportHeaders.GetAll()
            .Where(h => h.Value is string)
            .ToDictionary(h => h.Key, h => (string)h.Value, StringComparer.Ordinal);
        headers.TryGetValue(PlatformHeaders.StreamVersion, out var version);
        headers.TryGetValue(PlatformHeaders.GlobalPosition, out var position);
        return new DeadLetter(Guid.CreateVersion7(), consumer, endpoint, context.GetMessageId()?.ToString("D") ?? envelopeMessageId, messageType,
            headers.GetValueOrDefault(PlatformHeaders.EventType), headers.GetValueOrDefault(PlatformHeaders.StreamId),
            DeadLetterFilter.ParseLong(version), DeadLetterFilter.ParseLong(position),
            JsonSerializer.Serialize(headers, DeadLetterFilter.Json), payload,
            exception.GetType().FullName!, exception.Message, exception.ToString(), attempts, DateTimeOffset.UtcNow,
            DeadLetterState.Dead, null);
    }

    /// <summary>
    /// A MassTransit JSON envelope's message types, its message as JSON (what a replay sends again)
    /// and its message id; empty for a body that is not one.
    /// </summary>
    public static (IReadOnlyList<string> Types, string? Message, string? MessageId) ReadEnvelope(string body)
    {
        try
        {
            using var envelope = JsonDocument.Parse(body);
            var root = envelope.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return ([], null, null);
            var types = root.TryGetProperty("messageType", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).ToList()
                : [];
            var message = root.TryGetProperty("message", out var inner) ? inner.GetRawText() : null;
            var messageId = root.TryGetProperty("messageId", out var id) && id.ValueKind == JsonValueKind.String
                && Guid.TryParse(id.GetString(), out var parsed) ? parsed.ToString("D") : null;
            return (types, message, messageId);
        }
        catch (JsonException)
        {
            return ([], null, null);
        }
    }
}
