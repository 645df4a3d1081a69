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
/// which the receivers' inboxes make effectively once. At its first run it logs an error for stored
/// instances in a state the loaded state machines do not have (<see cref="SagaRuntime.FindStrandedAsync"/>).
/// </summary>
sealed class ScheduledMessageService(SagaRuntime runtime, MessageDelivery delivery, ILogger<ScheduledMessageService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = runtime.Options.Sagas;
        using var timer = new PeriodicTimer(options.PollInterval);
        var checkedStates = false;
        do
        {
            try
            {
                await runtime.EnsureSchemaAsync(stoppingToken).ConfigureAwait(false);
                if (!checkedStates)
                {
                    foreach (var (saga, state, count) in await runtime.FindStrandedAsync(stoppingToken).ConfigureAwait(false))
                        logger.LogError(
                            "Saga {Saga}: {Count} stored instance(s) are in state {State}, which this build's state machine does not have, so no message moves them. " +
                            "Deploy a build that declares the state until they have left it, or resolve them (platform sagas list --saga {Saga} --state {State}; platform sagas resolve <id> --reason ...)",
                            saga, count, state, saga, state);
                    checkedStates = true;
                }
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
