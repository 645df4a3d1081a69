using Microsoft.Extensions.Hosting;
using Platform.EventStore.Storage;
using Platform.Runtime.DeadLetters;

namespace Platform.Runtime.Configuration;

/// <summary>
/// Migrates the event store and creates the dead-letter table before anything else starts: in
/// <see cref="StartingAsync"/>, which the host runs for every hosted service, in registration
/// order, before any service's StartAsync, and this one is registered first
/// (<c>Consumers/InboxStarts</c> reads a checkpoint there).
/// </summary>
sealed class PlatformStartup(SqlEventStore store, DeadLetterStore deadLetters) : IHostedLifecycleService
{
    // The dead-letter table too: it was created at the first letter or the replay service's first
    // poll, so a run shorter than the poll interval (the demo, 40 orders) left no table to query.
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        await deadLetters.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
