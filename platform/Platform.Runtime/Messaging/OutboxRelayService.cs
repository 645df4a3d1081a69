using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Platform.EventStore.Outbox;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Messaging;

/// <summary>
/// Runs the <see cref="OutboxRelay"/> for the lifetime of the host; on PostgreSQL in one runtime
/// instance at a time. Every instance starts the service, but only the one holding a session
/// advisory lock on its own connection relays; the others wait and take over within
/// <c>Relay:LeaderPollInterval</c> when the holder stops or its connection dies (the database
/// releases the lock then). Without this every instance published every event, which the
/// consumers' inbox made harmless but which cost a broker copy per instance. SQLite is one
/// process, so it needs no election.
/// </summary>
public sealed class OutboxRelayService : BackgroundService
{
    readonly OutboxRelay _relay;
    readonly PlatformOptions _options;
    readonly ILogger<OutboxRelayService> _logger;
    volatile bool _leading;

    /// <summary>Creates the service.</summary>
    /// <param name="relay">The relay (registered by <c>AddPlatform</c>).</param>
    /// <param name="options">The runtime's options.</param>
    /// <param name="logger">Where leadership changes are logged.</param>
    public OutboxRelayService(OutboxRelay relay, PlatformOptions options, ILogger<OutboxRelayService> logger)
    {
        _relay = relay;
        _options = options;
        _logger = logger;
    }

    /// <summary>Whether this instance's relay is the one publishing.</summary>
    public bool IsLeader => _leading;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.Store.Provider != StoreProvider.Postgres)
        {
            _leading = true;
            await _relay.RunAsync(stoppingToken).ConfigureAwait(false);
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await LeadWhenElectedAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                _logger.LogWarning(exception, "Outbox relay election failed; trying again");
            }
            _leading = false;
            try
            {
                await Task.Delay(_options.Relay.LeaderPollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    async Task LeadWhenElectedAsync(CancellationToken stoppingToken)
    {
        await using var held = await SessionLock.TryTakeAsync(_options.Store.ConnectionString, "platform-outbox-relay", stoppingToken)
            .ConfigureAwait(false);
        if (held is null)
            return; // another instance relays
        _leading = true;
        _logger.LogInformation("This instance now runs the outbox relay");
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var relaying = _relay.RunAsync(lost.Token);
        try
        {
            // The lock lives as long as its connection: check it, and stop relaying when it is gone.
            while (!relaying.IsCompleted)
            {
                await Task.WhenAny(relaying, Task.Delay(_options.Relay.LeaderPollInterval, stoppingToken)).ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
                await using var ping = new NpgsqlCommand("SELECT 1", held.Connection);
                await ping.ExecuteScalarAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await lost.CancelAsync().ConfigureAwait(false);
            await relaying.ConfigureAwait(false);
            _leading = false;
        }
    }
}
