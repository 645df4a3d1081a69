using Microsoft.Extensions.Hosting;
using Platform.EventStore.Outbox;

namespace Platform.Runtime.Messaging;

/// <summary>Runs the <see cref="OutboxRelay"/> for the lifetime of the host.</summary>
public sealed class OutboxRelayService : BackgroundService
{
    readonly OutboxRelay _relay;

    /// <summary>Creates the service.</summary>
    /// <param name="relay">The relay (registered by <c>AddPlatform</c>).</param>
    public OutboxRelayService(OutboxRelay relay) => _relay = relay;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _relay.RunAsync(stoppingToken);
}
