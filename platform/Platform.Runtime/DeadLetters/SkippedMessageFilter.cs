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
        DeadLetter letter;
        try
        {
            letter = Letter(context);
            await DeadLetterFilter.WriteAsync(store, sink, logger, letter).ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            logger.LogError(failure, "{Endpoint} could not store message {MessageId}, which no consumer takes, as a dead letter; MassTransit moves it to the endpoint's skipped queue",
                endpoint, context.GetMessageId()?.ToString("D"));
            await next.Send(context).ConfigureAwait(false);
            return;
        }
        logger.LogError("{Endpoint}: no consumer takes message {MessageId} ({MessageType}); dead letter {DeadLetterId} keeps it for a build that does",
            endpoint, letter.MessageId, letter.MessageType, letter.Id);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-skipped-messages");

    DeadLetter Letter(ReceiveContext context)
    {
        var headers = context.TransportHeaders.GetAll()
            .Where(h => h.Value is string)
            .ToDictionary(h => h.Key, h => (string)h.Value, StringComparer.Ordinal);
        var body = context.Body.GetString();
        var (types, message, messageId) = MassTransitEnvelope.Read(body);
        var unconsumed = new UnconsumedMessageException(
            $"No consumer on {endpoint} takes {(types.Count == 0 ? "this message" : string.Join(", ", types))}: this build does not handle its type");
        headers.TryGetValue(PlatformHeaders.StreamVersion, out var version);
        headers.TryGetValue(PlatformHeaders.GlobalPosition, out var position);
        return new DeadLetter(Guid.CreateVersion7(), consumer, endpoint, context.GetMessageId()?.ToString("D") ?? messageId,
            types.FirstOrDefault() ?? DeadLetter.UnknownMessageType,
            headers.GetValueOrDefault(PlatformHeaders.EventType), headers.GetValueOrDefault(PlatformHeaders.StreamId),
            DeadLetterFilter.ParseLong(version), DeadLetterFilter.ParseLong(position),
            JsonSerializer.Serialize(headers, DeadLetterFilter.Json), message ?? body,
            unconsumed.GetType().FullName!, unconsumed.Message, unconsumed.ToString(), 0, DateTimeOffset.UtcNow,
            DeadLetterState.Dead, null);
    }
}

/// <summary>What a dead letter keeps of a MassTransit JSON envelope whose message was not consumed or not read.</summary>
static class MassTransitEnvelope
{
    /// <summary>Its message types, its message as JSON (what a replay sends again) and its message id; empty for a body that is not one.</summary>
    public static (IReadOnlyList<string> Types, string? Message, string? MessageId) Read(string body)
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
