using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Configuration;

namespace Platform.Runtime;

/// <summary>
/// A gauge whose values come from the database: read every <c>Telemetry:LagInterval</c>, only while
/// a meter listener observes the gauge, and kept for the gauge's callback, which never touches the
/// database. The derived class names its instruments, says whether one is observed and reads the
/// values; the callback enumerates <see cref="Measured"/> (every running instance of the class).
/// </summary>
/// <typeparam name="TSelf">The derived gauge service.</typeparam>
/// <typeparam name="TValue">One value read.</typeparam>
abstract class PolledGauge<TSelf, TValue>(PlatformOptions options, ILogger logger) : BackgroundService
    where TSelf : PolledGauge<TSelf, TValue>
{
    static readonly ConcurrentDictionary<TSelf, byte> Sources = new();

    volatile IReadOnlyList<TValue> _last = [];

    /// <summary>The runtime's options.</summary>
    protected PlatformOptions Options { get; } = options;

    /// <summary>The last values read by every running instance.</summary>
    protected static IEnumerable<TValue> Measured => Sources.Keys.SelectMany(source => source._last);

    /// <summary>True while a listener observes one of the instruments.</summary>
    protected abstract bool Observed { get; }

    /// <summary>What is read, for the warning when a read fails ("Could not {What}").</summary>
    protected abstract string What { get; }

    /// <summary>Reads the current values.</summary>
    /// <param name="cancellationToken">Stops the read.</param>
    protected abstract Task<IReadOnlyList<TValue>> ReadAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Sources.TryAdd((TSelf)this, 0);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (Observed)
                {
                    try
                    {
                        _last = await ReadAsync(stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                    {
                        logger.LogWarning(exception, "Could not {What}", What);
                    }
                }
                await Task.Delay(Options.Telemetry.LagInterval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            Sources.TryRemove((TSelf)this, out _);
        }
    }
}
