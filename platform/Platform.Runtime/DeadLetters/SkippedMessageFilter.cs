using MassTransit;
using Microsoft.Extensions.Logging;

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
