using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>What a projection is doing.</summary>
public enum ProjectionState
{
    /// <summary>Not started yet.</summary>
    Starting,

    /// <summary>Applying events, or caught up and tailing the store.</summary>
    Running,

    /// <summary>The last batch failed; it is retried after the retry delay.</summary>
    Failing,
}

/// <summary>One projection's position and state.</summary>
/// <param name="Name">The projection.</param>
/// <param name="Position">Its committed checkpoint.</param>
/// <param name="State">What it is doing.</param>
/// <param name="LastError">The last failure while <see cref="ProjectionState.Failing"/>.</param>
public sealed record ProjectionStatus(string Name, long Position, ProjectionState State, Exception? LastError);

/// <summary>
/// Runs every loaded projection, each in its own loop with its own checkpoint: catch up from the
/// store, then keep tailing it (read after the checkpoint, wait <c>PollInterval</c> when nothing
/// is new). A projection that fails is retried on the same batch after <c>RetryDelay</c> and the
/// others go on.
/// </summary>
public sealed class ProjectionEngine : BackgroundService
{
    readonly IReadOnlyList<ProjectionRunner> _runners;
    readonly Dictionary<string, (ProjectionState State, Exception? Error)> _states = new(StringComparer.Ordinal);
    readonly PlatformProjectionOptions _options;
    readonly ILogger<ProjectionEngine> _logger;

    /// <summary>Creates the engine for the loaded projections.</summary>
    /// <param name="catalog">The loaded domains.</param>
    /// <param name="store">The event store.</param>
    /// <param name="options">The runtime's options.</param>
    /// <param name="logger">Where failures are logged.</param>
    public ProjectionEngine(DomainCatalog catalog, SqlEventStore store, PlatformOptions options, ILogger<ProjectionEngine> logger)
    {
        _options = options.Projections;
        _logger = logger;
        _runners = catalog.Projections
            .Select(p => new ProjectionRunner(store, options.Store.Provider, p, _options.BatchSize))
            .ToArray();
        foreach (var runner in _runners)
            _states[runner.Projection.Name] = (ProjectionState.Starting, null);
    }

    /// <summary>Each projection's position and state.</summary>
    public IReadOnlyList<ProjectionStatus> GetStatus()
    {
        lock (_states)
            return _runners.Select(r => new ProjectionStatus(r.Projection.Name, r.Position, _states[r.Projection.Name].State,
                _states[r.Projection.Name].Error)).ToArray();
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_runners.Select(runner => RunAsync(runner, stoppingToken)));

    async Task RunAsync(ProjectionRunner runner, CancellationToken stoppingToken)
    {
        var tableReady = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                if (!tableReady)
                {
                    await runner.EnsureTableAsync(stoppingToken).ConfigureAwait(false);
                    tableReady = true;
                }
                var applied = await runner.CatchUpAsync(stoppingToken).ConfigureAwait(false);
                SetState(runner, ProjectionState.Running, null);
                wait = applied > 0 ? TimeSpan.Zero : _options.PollInterval;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                SetState(runner, ProjectionState.Failing, exception);
                _logger.LogError(exception, "Projection {Projection} failed after position {Position}; retrying",
                    runner.Projection.Name, runner.Position);
                wait = _options.RetryDelay;
            }
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    void SetState(ProjectionRunner runner, ProjectionState state, Exception? error)
    {
        lock (_states)
            _states[runner.Projection.Name] = (state, error);
    }
}
