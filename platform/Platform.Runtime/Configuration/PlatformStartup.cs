using Microsoft.Extensions.Hosting;
using Platform.EventStore.Storage;

namespace Platform.Runtime.Configuration;

/// <summary>
/// Migrates the event store before anything else starts (registered before the bus, the relay and
/// the projection engine, and hosted services start in registration order).
/// </summary>
sealed class PlatformStartup(SqlEventStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
