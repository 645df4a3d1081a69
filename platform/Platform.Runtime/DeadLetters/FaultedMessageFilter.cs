using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Commands;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// The error pipe of a platform endpoint on RabbitMQ and in memory, after MassTransit's fault
/// generation (the caller has its fault by then). What reaches it faulted outside
/// <see cref="DeadLetterFilter"/>'s reach:
/// <list type="bullet">
/// <item>A rejected or invalid command is an answer, not a failure: it is acknowledged and dropped.
/// MassTransit would move it to the endpoint's <c>_error</c> queue, where every business rejection
/// piled up for good (nothing reads that queue; in memory, it held them in the process's memory).</item>
/// <item>Anything else is a message the endpoint could not read (its body is not JSON, or not its
/// type in JSON) or whose dead letter could not be stored. It is stored as a dead letter with its
/// body as it came, so <c>platform dlq</c> shows every failed message in one place; only if that store
/// fails does MassTransit move it to the <c>_error</c> queue, so nothing is lost.</item>
/// </list>
/// </summary>
sealed class FaultedMessageFilter(DeadLetterStore store, string consumer, string endpoint, ILogger logger, IDeadLetterSink? sink)
    : IFilter<ExceptionReceiveContext>
{
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        if (context.Exception is CommandRejectedException or CommandValidationException)
            return;
        if (context.Exception is OperationCanceledException)
        {
            // Stopping, not failing: as MassTransit would have it.
            await next.Send(context).ConfigureAwait(false);
            return;
        }
        var letter = await ReceivedLetters.TryStoreAsync(store, sink, logger, endpoint, context, "error", () =>
        {
            // A message MassTransit could read as an envelope names its types, and counted its attempts.
            var consumed = context.TryGetPayload<ConsumeContext>(out var consume) ? consume : null;
            var attempts = consumed is not null && consumed.TryGetPayload<DeliveryAttempts>(out var counted) ? Math.Max(1, counted.Count) : 1;
            var body = context.Body.GetString();
            var envelope = ReceivedLetters.ReadEnvelope(body);
            var messageType = consumed?.SupportedMessageTypes.FirstOrDefault() ?? envelope.Types.FirstOrDefault() ?? DeadLetter.UnknownMessageType;
            return ReceivedLetters.Create(context, consumer, endpoint, envelope.MessageId, messageType, body, context.Exception, attempts);
        }).ConfigureAwait(false);
        if (letter is null)
        {
            await next.Send(context).ConfigureAwait(false);
            return;
        }
        logger.LogError(context.Exception, "{Endpoint}: message {MessageId} ({MessageType}) faulted where the consumer's retries could not take it; dead letter {DeadLetterId} keeps it as it came",
            endpoint, letter.MessageId, letter.MessageType, letter.Id);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-faulted-messages");
}
