using System.Collections.Concurrent;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Messaging;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// The skipped pipe of a platform endpoint on RabbitMQ and in memory: a message no consumer of the
/// endpoint takes, such as a command of a type this build does not handle yet (a client deployed
/// before the runtime). MassTransit would move it to the endpoint's <c>_skipped</c> queue, which
/// nothing reads. It is stored as a dead letter instead, its message as sent and its type by
/// MassTransit URN, so a build that handles the type replays it (<see cref="EndpointMessageTypes"/>);
/// only if that store fails does it go to <c>_skipped</c>.
/// </summary>
sealed class SkippedMessageFilter(DeadLetterStore store, string consumer, string endpoint, ILogger logger, IDeadLetterSink? sink)
    : IFilter<ReceiveContext>
{
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var letter = await ReceivedLetters.TryStoreAsync(store, sink, logger, endpoint, context, "skipped", () =>
        {
            var body = context.Body.GetString();
            var (types, message, messageId) = ReceivedLetters.ReadEnvelope(body);
            var unconsumed = new UnconsumedMessageException(
                $"No consumer on {endpoint} takes {(types.Count == 0 ? "this message" : string.Join(", ", types))}: this build does not handle its type");
            return ReceivedLetters.Create(context, consumer, endpoint, messageId, types.FirstOrDefault() ?? DeadLetter.UnknownMessageType,
                message ?? body, unconsumed, attempts: 0);
        }).ConfigureAwait(false);
        if (letter is null)
        {
            await next.Send(context).ConfigureAwait(false);
            return;
        }
        logger.LogError("{Endpoint}: no consumer takes message {MessageId} ({MessageType}); dead letter {DeadLetterId} keeps it for a build that does",
            endpoint, letter.MessageId, letter.MessageType, letter.Id);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-skipped-messages");
}

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

/// <summary>Why a message was dead-lettered without a consumer: no consumer of its endpoint takes its type.</summary>
public sealed class UnconsumedMessageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UnconsumedMessageException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which endpoint, and which types.</param>
    public UnconsumedMessageException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which endpoint, and which types.</param>
    /// <param name="innerException">The cause.</param>
    public UnconsumedMessageException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>
/// The message types the runtime's endpoints consume, by MassTransit URN, filled as the endpoints are
/// configured: how a replay finds the CLR type of a letter that names its type by URN (one this
/// build's endpoints did not take when it was written).
/// </summary>
public sealed class EndpointMessageTypes
{
    readonly ConcurrentDictionary<string, Type> _byUrn = new(StringComparer.Ordinal);

    internal void Add(IEnumerable<Type> types)
    {
        foreach (var type in types)
            _byUrn.TryAdd(MessageUrn.ForTypeString(type), type);
    }

    /// <summary>The type a URN names, if an endpoint of this runtime consumes it.</summary>
    /// <param name="urn">A MassTransit message URN, e.g. <c>urn:message:Shop.Orders:ConfirmOrder</c>.</param>
    public Type? Find(string urn) => _byUrn.GetValueOrDefault(urn);
}
