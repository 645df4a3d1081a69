using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// Re-sends the dead letters an operator asked to replay (<c>platform dlq replay</c> marks the row;
/// the CLI has no bus of its own, and on the in-memory transport only the runtime can reach the
/// queue). Each letter goes to the queue it failed on, as its CLR type, with its original message
/// id and headers, so the idempotent consumer and the order guard treat it like the first delivery.
/// The row is removed once sent; if it fails again, its retries run again and a new letter is written.
/// </summary>
sealed class DeadLetterReplayService(DeadLetterStore store, IBus bus, PlatformOptions options, ILogger<DeadLetterReplayService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Retries.ReplayPollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                foreach (var letter in await store.ReplayRequestsAsync(stoppingToken).ConfigureAwait(false))
                    await ReplayAsync(letter, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The request stays in the table, so the next tick tries again.
                logger.LogError(exception, "Replaying dead letters failed; retrying in {Interval}", options.Retries.ReplayPollInterval);
            }
        }
    }

    async Task ReplayAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        var type = Type.GetType(letter.MessageType, throwOnError: false)
            ?? throw new InvalidOperationException($"Dead letter {letter.Id}: type '{letter.MessageType}' is not loaded by this runtime.");
        var message = JsonSerializer.Deserialize(letter.Payload, type, DeadLetterFilter.Json)
            ?? throw new InvalidOperationException($"Dead letter {letter.Id}: the payload is empty.");
        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(letter.Headers, DeadLetterFilter.Json) ?? [];
        var endpoint = await bus.GetSendEndpoint(RetryPipeline.EndpointAddress(options, letter.Endpoint)).ConfigureAwait(false);
        await endpoint.Send(message, type, Pipe.Execute<SendContext>(context =>
        {
            if (Guid.TryParse(letter.MessageId, out var messageId))
                context.MessageId = messageId;
            foreach (var (name, value) in headers)
                context.Headers.Set(name, value);
        }), cancellationToken).ConfigureAwait(false);
        await store.RemoveReplayedAsync(letter.Id, cancellationToken).ConfigureAwait(false);
        DeadLetterTelemetry.MessagesReplayed.Add(1);
        logger.LogInformation("Replayed dead letter {DeadLetterId} ({MessageType}) to {Endpoint}", letter.Id, type.Name, letter.Endpoint);
    }
}
