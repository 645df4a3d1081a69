using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Consumers;

/// <summary>
/// Deletes the message inbox rows older than <see cref="PlatformInboxOptions.RetainFor"/> every
/// <see cref="PlatformInboxOptions.CleanupInterval"/> (<see cref="SqlEventStore.DeleteProcessedMessagesAsync"/>),
/// the first time right after start. Registered by <c>AddPlatform</c> only when
/// <see cref="PlatformInboxOptions.RetainFor"/> is set. Every instance runs it; deleting the same
/// rows twice is harmless.
/// </summary>
sealed class InboxCleanup(SqlEventStore store, PlatformOptions options, ILogger<InboxCleanup> logger) : BackgroundService
{
    internal static readonly System.Diagnostics.Metrics.Counter<long> Deleted = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.inbox.deleted", "{row}", "Message inbox rows deleted because they were older than Platform:Inbox:RetainFor.");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retain = options.Inbox.RetainFor ?? throw new InvalidOperationException("Platform:Inbox:RetainFor is not set.");
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var deleted = await store.DeleteProcessedMessagesAsync(DateTimeOffset.UtcNow - retain, options.Inbox.CleanupBatchSize, stoppingToken)
                    .ConfigureAwait(false);
                Deleted.Add(deleted);
                if (deleted > 0)
                    logger.LogInformation("Deleted {Rows} message inbox rows older than {RetainFor}", deleted, retain);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // The database may be away for a while: the next round tries again.
                logger.LogWarning(exception, "Could not delete expired message inbox rows; trying again in {Interval}", options.Inbox.CleanupInterval);
            }
            try
            {
                await Task.Delay(options.Inbox.CleanupInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
