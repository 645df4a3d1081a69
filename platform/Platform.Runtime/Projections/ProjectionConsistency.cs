using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>What <see cref="ProjectionConsistency.WaitForAsync(string, long, TimeSpan, CancellationToken)"/> found.</summary>
public enum ProjectionWait
{
    /// <summary>The projection has applied every event up to the position: its read model includes them.</summary>
    Reached,

    /// <summary>The projection had not reached the position when the time was up; the read model may not include the command yet.</summary>
    TimedOut,

    /// <summary>The projection is parked on a failing event (<c>platform projections resume</c>): it will not get there by itself.</summary>
    Parked,
}

/// <summary>
/// Read models are eventually consistent: a command's events reach a projection's table a moment
/// after the command returns. A caller that must read its own write (a page shown right after a
/// form is sent) waits for the projection to reach the command's position
/// (<see cref="CommandAccepted.Position"/>) before it reads, bounded by a timeout, instead of
/// sleeping or polling the table. In a runtime that runs the projection engine the wait is woken by
/// the projection's own progress; elsewhere (the engine off, a process that only dispatches) it
/// reads the projection's checkpoint every <c>Platform:Projections:PollInterval</c>.
/// </summary>
public sealed class ProjectionConsistency
{
    readonly SqlEventStore _store;
    readonly ProjectionEngine? _engine;
    readonly HashSet<string> _projections;
    readonly TimeSpan _pollInterval;

    /// <summary>
    /// Creates the waiter; <c>AddPlatform</c> registers one. It follows the database read models are
    /// read from (<see cref="ReadModels"/>): with <c>Platform:Store:ReadReplica</c> set, the
    /// standby's checkpoints, read every poll interval (the engine's progress on the primary says
    /// nothing of what the standby has replayed).
    /// </summary>
    /// <param name="catalog">The loaded domains: the projections one can wait for.</param>
    /// <param name="store">The store whose checkpoints are read when no engine runs here.</param>
    /// <param name="options">The runtime's options (the poll interval).</param>
    /// <param name="services">Gives the projection engine, when this process runs it, and the read side.</param>
    public ProjectionConsistency(DomainCatalog catalog, SqlEventStore store, PlatformOptions options, IServiceProvider services)
        : this(catalog, ReplicaOf(services) ?? store,
            options?.Projections.Enabled == true && ReplicaOf(services) is null ? services?.GetService<ProjectionEngine>() : null,
            options?.Projections.PollInterval ?? throw new ArgumentNullException(nameof(options)))
    {
        ArgumentNullException.ThrowIfNull(services);
    }

    static SqlEventStore? ReplicaOf(IServiceProvider? services) => services?.GetService<ReadModels>()?.Replica;

    ProjectionConsistency(DomainCatalog catalog, SqlEventStore store, ProjectionEngine? engine, TimeSpan pollInterval)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _engine = engine;
        _projections = catalog.Projections.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        _pollInterval = pollInterval;
    }

    /// <summary>
    /// A waiter that reads the projections' checkpoints from <paramref name="database"/> only, every
    /// <paramref name="pollInterval"/>: a read replica the service queries its read models on. A
    /// projection commits its rows and its checkpoint in one transaction, so once the replica's
    /// checkpoint has reached a position, the replica's rows include it.
    /// </summary>
    /// <param name="catalog">The loaded domains.</param>
    /// <param name="database">A store on the database the caller reads from (e.g. the replica's connection string).</param>
    /// <param name="pollInterval">How often the checkpoint is read.</param>
    public static ProjectionConsistency ReadingFrom(DomainCatalog catalog, SqlEventStore database, TimeSpan pollInterval) =>
        new(catalog, database, engine: null, pollInterval);

    /// <summary>Waits until <paramref name="projection"/> includes the events of the command that returned <paramref name="accepted"/>.</summary>
    /// <param name="projection">The projection's name, as in the YAML (e.g. <c>OrderSummary</c>).</param>
    /// <param name="accepted">What the command dispatcher returned.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait (it then throws).</param>
    public Task<ProjectionWait> WaitForAsync(string projection, CommandAccepted accepted, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        return WaitForAsync(projection, accepted.Position, timeout, cancellationToken);
    }

    /// <summary>Waits until <paramref name="projection"/> has applied every event up to global position <paramref name="position"/>.</summary>
    /// <param name="projection">The projection's name, as in the YAML (e.g. <c>OrderSummary</c>).</param>
    /// <param name="position">The global position (e.g. <see cref="CommandAccepted.Position"/>); 0 or less is reached at once.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait (it then throws).</param>
    /// <exception cref="ArgumentException">No loaded projection has that name.</exception>
    public async Task<ProjectionWait> WaitForAsync(string projection, long position, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(projection);
        if (!_projections.Contains(projection))
            throw new ArgumentException($"No loaded projection is named '{projection}'; loaded: {string.Join(", ", _projections.Order(StringComparer.Ordinal))}.",
                nameof(projection));
        if (position <= 0)
            return ProjectionWait.Reached;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        while (true)
        {
            // The position is looked at again when it moves here, and every poll interval: a
            // projection parking, or another process moving the checkpoint, moves nothing here.
            Task moved;
            if (_engine is not null)
            {
                var (at, parked, next) = _engine.Observe(projection);
                if (at >= position)
                    return ProjectionWait.Reached;
                if (parked)
                    return ProjectionWait.Parked;
                moved = next;
            }
            else
            {
                if (await _store.GetCheckpointAsync(ProjectionBinding.CheckpointNameOf(projection), cancellationToken).ConfigureAwait(false) >= position)
                    return ProjectionWait.Reached;
                if (await _store.GetCheckpointAsync(ProjectionEngine.ParkedFlagName(projection), cancellationToken).ConfigureAwait(false) > 0)
                    return ProjectionWait.Parked;
                moved = Task.Delay(_pollInterval, limit.Token);
            }
            try
            {
                await moved.WaitAsync(_pollInterval, limit.Token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // the poll interval passed: look again
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return ProjectionWait.TimedOut;
            }
        }
    }
}
