using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Configuration;
using Platform.Runtime.Sagas;

namespace Platform.Runtime.Scheduling;

/// <summary>
/// The scheduler's poller: every <see cref="PlatformSagaOptions.PollInterval"/> it delivers the due rows
/// of <c>scheduled_messages</c> (timeouts whose time has come, and outbox messages a step did not
/// deliver itself, e.g. because the process died after the commit), then deletes them. Rows outlive
/// the process, so timeouts survive a restart; delivery is at least once with a fixed message id,
/// which the receivers' inboxes make effectively once.
/// </summary>
sealed class ScheduledMessageService(SagaRuntime runtime, MessageDelivery delivery, ILogger<ScheduledMessageService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = runtime.Options.Sagas;
        using var timer = new PeriodicTimer(options.PollInterval);
        do
        {
            try
            {
                await runtime.EnsureSchemaAsync(stoppingToken).ConfigureAwait(false);
                int delivered;
                do
                {
                    delivered = await runtime.Scheduled.DeliverDueAsync(DateTimeOffset.UtcNow, options.BatchSize, delivery.DeliverAsync, stoppingToken)
                        .ConfigureAwait(false);
                    SagaTelemetry.MessagesDelivered.Add(delivered);
                }
                while (delivered == options.BatchSize && !stoppingToken.IsCancellationRequested);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(exception, "Delivering scheduled messages failed; trying again in {Interval}", options.PollInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
