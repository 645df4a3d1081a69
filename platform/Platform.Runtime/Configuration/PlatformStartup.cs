using Microsoft.Extensions.Hosting;
using Platform.EventStore.Storage;

namespace Platform.Runtime.Configuration;

/// <summary>
/// Migrates the event store before anything else starts: in <see cref="StartingAsync"/>, which the
/// host runs for every hosted service, in registration order, before any service's StartAsync, and
/// this one is registered first (<c>Consumers/InboxStarts</c> reads a checkpoint there).
/// </summary>
sealed class PlatformStartup(SqlEventStore store) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
