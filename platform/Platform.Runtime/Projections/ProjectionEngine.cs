using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
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

    /// <summary>Applying a backlog: the first catch-up after a start, a resume or a failure.</summary>
    CatchingUp,

    /// <summary>Caught up and tailing the store.</summary>
    Live,

    /// <summary>Live, while a rebuild builds its shadow table.</summary>
    Rebuilding,

    /// <summary>The last batch failed; it is retried after the retry delay.</summary>
    Failing,

    /// <summary>Failed on the same event <c>MaxAttempts</c> times; stopped until resumed.</summary>
    Parked,

    /// <summary>
    /// Another build's declaration of the projection rebuilt its table while this instance ran: it
    /// leaves the table alone until the recorded declaration is its own again (or it restarts,
    /// when it rebuilds the table for its own declaration).
    /// </summary>
    Superseded,
}

/// <summary>One projection's position and state.</summary>
/// <param name="Name">The projection.</param>
/// <param name="Position">Its committed checkpoint.</param>
/// <param name="State">What it is doing.</param>
/// <param name="LastError">The last failure while <see cref="ProjectionState.Failing"/> or <see cref="ProjectionState.Parked"/>.</param>
public sealed record ProjectionStatus(string Name, long Position, ProjectionState State, Exception? LastError)
{
    /// <summary>The store's last position when the status was taken (0 from <see cref="ProjectionEngine.GetStatus"/>).</summary>
    public long Head { get; init; }

    /// <summary>Positions between the checkpoint and the head.</summary>
    public long LagPositions => Math.Max(0, Head - Position);

    /// <summary>Age of the oldest event the projection has not applied; zero when caught up.</summary>
    public TimeSpan LagTime { get; init; }

    /// <summary>Consecutive failed attempts at the current position.</summary>
    public int Attempts { get; init; }

    /// <summary>Events this process ran through the projection's handler into its table.</summary>
    public long EventsApplied { get; init; }

    /// <summary>Of those, events the handler left unchanged (already applied to the row, or no row to update).</summary>
    public long EventsUnchanged { get; init; }

    /// <summary>The rebuild's last progress while <see cref="ProjectionState.Rebuilding"/>.</summary>
    public RebuildProgress? Rebuild { get; init; }

    /// <summary>
    /// From <see cref="ProjectionStatusReader"/>: whether the live table was built by the declaration
    /// of the domain read (false: a runtime of that build rebuilds it at start); null when unknown.
    /// </summary>
    public bool? DeclarationMatches { get; init; }
}

/// <summary>
/// Runs every loaded projection, each in its own loop with its own checkpoint: catch up from the
/// store, then keep tailing it (read after the checkpoint, wait <c>PollInterval</c> when nothing
/// is new). A projection that fails is retried on the same event after <c>RetryDelay</c> and the
/// others go on; after <c>MaxAttempts</c> failures at the same position it is parked (error log,
/// <c>platform.projections.parked</c>, state <see cref="ProjectionState.Parked"/>) until
/// <see cref="Resume"/>, which continues from the failed position.
/// </summary>
public sealed class ProjectionEngine : BackgroundService
{
    sealed class Slot(ProjectionRunner runner)
    {
        public ProjectionRunner Runner { get; } = runner;
        public ProjectionState State = ProjectionState.Starting;
        public Exception? Error;
        public int Attempts;
        public long FailedAt = -1;
        public RebuildProgress? Rebuild;
        public string? NotServing; // why this build's rows are not in the live table yet (a changed declaration)
        public TaskCompletionSource Resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    readonly IReadOnlyList<Slot> _ordered;
    readonly SqlEventStore _store;
    readonly StoreProvider _provider;
    readonly PlatformProjectionOptions _options;
    readonly ILogger<ProjectionEngine> _logger;
    readonly TimeSpan _lagInterval;

    /// <summary>Creates the engine for the loaded projections.</summary>
    /// <param name="catalog">The loaded domains.</param>
    /// <param name="store">The event store.</param>
    /// <param name="options">The runtime's options.</param>
    /// <param name="logger">Where failures are logged.</param>
    public ProjectionEngine(DomainCatalog catalog, SqlEventStore store, PlatformOptions options, ILogger<ProjectionEngine> logger)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _provider = options.Store.Provider;
        _options = options.Projections;
        _logger = logger;
        _lagInterval = options.Telemetry.LagInterval;
        _ordered = catalog.Projections
            .Select(p => new Slot(new ProjectionRunner(store, options.Store.Provider, p, _options.BatchSize)))
            .ToArray();
        foreach (var slot in _ordered)
            _slots[slot.Runner.Projection.Name] = slot;
    }

    /// <summary>
    /// The projections whose live table does not hold this build's rows: being rebuilt for this
    /// build's changed declaration (or waiting for another instance to), or superseded by another
    /// build's. What the readiness check reports.
    /// </summary>
    internal IReadOnlyList<(string Projection, string Reason)> NotServing()
    {
        var result = new List<(string, string)>();
        foreach (var slot in _ordered)
            lock (slot)
                if (slot.NotServing is { } reason)
                    result.Add((slot.Runner.Projection.Name, reason));
        return result;
    }

    /// <summary>Each projection's position and state, from memory (no head or lag; see <see cref="GetStatusAsync"/>).</summary>
    public IReadOnlyList<ProjectionStatus> GetStatus() => _ordered.Select(Snapshot).ToArray();

    /// <summary>Each projection's position, state, the store's head and the lag in positions and time.</summary>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<IReadOnlyList<ProjectionStatus>> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var statuses = new List<ProjectionStatus>(_ordered.Count);
        var head = await _store.GetHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await _store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var slot in _ordered)
        {
            var status = Snapshot(slot);
            var oldest = await ProjectionCheckpoints.FirstTimestampAfterAsync(transaction.Connection, status.Position, cancellationToken)
                .ConfigureAwait(false);
            statuses.Add(status with
            {
                Head = head,
                LagTime = oldest is { } at && status.Position < head ? Max(DateTimeOffset.UtcNow - at, TimeSpan.Zero) : TimeSpan.Zero,
            });
        }
        return statuses;
    }

    /// <summary>Continues a parked projection from the position it failed at (e.g. after a fix). False when it is not parked.</summary>
    /// <param name="projection">The projection's name.</param>
    public bool Resume(string projection)
    {
        var slot = Find(projection);
        lock (slot)
        {
            if (slot.State != ProjectionState.Parked)
                return false;
            slot.Attempts = 0;
            slot.State = ProjectionState.CatchingUp;
            slot.Resumed.TrySetResult();
            return true;
        }
    }

    /// <summary>
    /// Rebuilds a projection into a shadow table while it keeps running here, then swaps it in
    /// (see <see cref="ProjectionRebuilder"/>); its status is <see cref="ProjectionState.Rebuilding"/> meanwhile.
    /// </summary>
    /// <param name="projection">The projection's name.</param>
    /// <param name="progress">Receives progress after every batch, or null.</param>
    /// <param name="cancellationToken">Stops the rebuild before the swap.</param>
    /// <exception cref="ProjectionRebuildRunningException">Another rebuild of the projection runs.</exception>
    public Task<RebuildResult> RebuildAsync(string projection, IProgress<RebuildProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        RebuildAsync(projection, progress, lockHeld: false, cancellationToken);

    async Task<RebuildResult> RebuildAsync(string projection, IProgress<RebuildProgress>? progress, bool lockHeld, CancellationToken cancellationToken)
    {
        var slot = Find(projection);
        var rebuilder = new ProjectionRebuilder(_store, _provider, _options.RebuildBatchSize);
        try
        {
            return await rebuilder.RebuildAsync(slot.Runner.Projection, new Progress(slot, progress), lockHeld, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            lock (slot)
                slot.Rebuild = null;
        }
    }

    // Synchronous on purpose: Progress<T> posts to the thread pool, so status could lag the rebuild.
    sealed class Progress(Slot slot, IProgress<RebuildProgress>? inner) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress value)
        {
            lock (slot)
                slot.Rebuild = value;
            inner?.Report(value);
        }
    }

    /// <summary>
    /// The status with head and lag as last measured for the lag gauges (<c>platform.projections.lag</c>,
    /// <c>platform.projections.lag_time</c>): every <c>Telemetry:LagInterval</c> while a meter listener
    /// observes them, else empty.
    /// </summary>
    public IReadOnlyList<ProjectionStatus> LastMeasuredStatus => _measured;

    volatile IReadOnlyList<ProjectionStatus> _measured = [];

    /// <summary>
    /// Makes every projection's table before the host reports started, so a reader that queries a
    /// read model right after start finds it (empty, or catching up) rather than no table. A table
    /// that cannot be made yet (the database not reachable) is made by the projection's loop,
    /// which retries.
    /// </summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var slot in _ordered)
        {
            try
            {
                await slot.Runner.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning(exception, "Projection {Projection}: its table could not be made at start; it is made when the projection runs",
                    slot.Runner.Projection.Name);
            }
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        PlatformTelemetry.AddLagSource(this);
        try
        {
            await Task.WhenAll(_ordered.Select(slot => RunAsync(slot, stoppingToken)).Append(MeasureLagAsync(stoppingToken)))
                .ConfigureAwait(false);
        }
        finally
        {
            PlatformTelemetry.RemoveLagSource(this);
        }
    }

    // Gauge callbacks are synchronous and must not query the database, so the lag is measured here
    // and the callbacks read the last measurement; nothing is queried while nobody listens.
    async Task MeasureLagAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (PlatformTelemetry.LagObserved && _ordered.Count > 0)
            {
                try
                {
                    _measured = await GetStatusAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception exception)
                {
                    _logger.LogWarning(exception, "Could not measure projection lag");
                }
            }
            try
            {
                await Task.Delay(_lagInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    async Task RunAsync(Slot slot, CancellationToken stoppingToken)
    {
        var runner = slot.Runner;
        var tableReady = false;
        var definitionMatches = runner.Projection.DefinitionFingerprint is null;
        var superseded = false;
        SetState(slot, ProjectionState.CatchingUp, null);
        // A parked flag left by an earlier process is stale: this one tries again (and parks again if the cause remains).
        await ClearParkedFlagAsync(runner, stoppingToken).ConfigureAwait(false);
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
                if (superseded || !definitionMatches)
                {
                    lock (slot)
                        slot.NotServing = superseded
                            ? "another build's declaration of it owns its table"
                            : "its table is being rebuilt for this build's declaration";
                    // Superseded: wait for the table to be this declaration's again. At start: rebuild
                    // the table for this declaration, or wait while another instance does.
                    definitionMatches = superseded
                        ? await StoredDefinitionAsync(runner, adopt: false, stoppingToken).ConfigureAwait(false) == runner.Projection.DefinitionFingerprint
                        : await MatchDefinitionAsync(slot, stoppingToken).ConfigureAwait(false);
                    if (!definitionMatches)
                    {
                        await Task.Delay(_options.ResumePollInterval, stoppingToken).ConfigureAwait(false);
                        continue;
                    }
                    if (superseded)
                        _logger.LogInformation("Projection {Projection}: its table is this build's declaration again; applying events", runner.Projection.Name);
                    superseded = false;
                    lock (slot)
                        slot.NotServing = null;
                    SetState(slot, ProjectionState.CatchingUp, null);
                }
                var applied = await runner.CatchUpAsync(stoppingToken).ConfigureAwait(false);
                lock (slot)
                {
                    slot.Attempts = 0;
                    slot.FailedAt = -1;
                }
                SetState(slot, ProjectionState.Live, null);
                wait = applied > 0 ? TimeSpan.Zero : _options.PollInterval;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (ProjectionSupersededException exception)
            {
                lock (slot)
                    slot.NotServing = "another build's declaration of it owns its table";
                _logger.LogWarning("{Message}; it applies events again when the table is rebuilt for this declaration (a restart of this build rebuilds it)",
                    exception.Message);
                superseded = true;
                SetState(slot, ProjectionState.Superseded, exception);
                continue;
            }
            catch (Exception exception)
            {
                if (RecordFailure(slot, exception))
                {
                    var flagged = await SetParkedFlagAsync(runner, slot.FailedAt, stoppingToken).ConfigureAwait(false);
                    lock (slot)
                        slot.State = ProjectionState.Parked;
                    try
                    {
                        await WaitForResumeAsync(slot, flagged, stoppingToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    lock (slot)
                        slot.Resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    await ClearParkedFlagAsync(runner, stoppingToken).ConfigureAwait(false);
                    _logger.LogInformation("Projection {Projection} resumed at position {Position}", runner.Projection.Name, runner.Position);
                    continue;
                }
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

    // The fingerprint recorded for the live table; with adopt, this build's is recorded first when
    // none is (a new table, or one built before fingerprints).
    async Task<string?> StoredDefinitionAsync(ProjectionRunner runner, bool adopt, CancellationToken cancellationToken)
    {
        await using var transaction = await _store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (adopt)
            await ProjectionSchema.SaveDefinitionAsync(transaction.Connection, transaction.Transaction, runner.Projection.Name,
                runner.Projection.DefinitionFingerprint!, replace: false, cancellationToken).ConfigureAwait(false);
        var stored = await ProjectionSchema.ReadDefinitionAsync(transaction.Connection, transaction.Transaction, runner.Projection.Name,
            cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return stored;
    }

    // At start: true when the live table is this build's declaration. Otherwise the declaration
    // changed since the table was built (a deploy, or a rollback): this instance rebuilds the table
    // into a shadow one and swaps it in, recording its fingerprint, while the live table keeps
    // serving the old rows; false while another instance holds that rebuild.
    async Task<bool> MatchDefinitionAsync(Slot slot, CancellationToken cancellationToken)
    {
        var projection = slot.Runner.Projection;
        var stored = await StoredDefinitionAsync(slot.Runner, adopt: true, cancellationToken).ConfigureAwait(false);
        if (stored == projection.DefinitionFingerprint)
            return true;
        await using var leader = await ProjectionRebuilder.TryLockAsync(_store, _provider, projection.Name, cancellationToken).ConfigureAwait(false);
        if (leader is null)
            return false;
        // The lock may come after another instance's rebuild finished: look again under it.
        if (await StoredDefinitionAsync(slot.Runner, adopt: false, cancellationToken).ConfigureAwait(false) == projection.DefinitionFingerprint)
            return true;
        _logger.LogWarning(
            "Projection {Projection}: its table was built by another declaration of it (fingerprint {Stored}; this build's is {Own}); rebuilding it. The table keeps serving its rows until the swap",
            projection.Name, stored, projection.DefinitionFingerprint);
        var result = await RebuildAsync(projection.Name, null, lockHeld: true, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Projection {Projection} rebuilt for this build's declaration: {Events} events read in {Elapsed}, live from position {Position}",
            projection.Name, result.EventsRead, result.Elapsed, result.SwappedAtPosition);
        PlatformTelemetry.ProjectionsRebuilt.Add(1, new KeyValuePair<string, object?>("projection", projection.Name));
        return true;
    }

    // True when the projection is to be parked (its state turns Parked once the flag is stored).
    bool RecordFailure(Slot slot, Exception exception)
    {
        var runner = slot.Runner;
        var apply = exception as ProjectionApplyException;
        var failedAt = apply?.GlobalPosition ?? runner.Position + 1;
        int attempts;
        lock (slot)
        {
            slot.Attempts = slot.FailedAt == failedAt ? slot.Attempts + 1 : 1;
            slot.FailedAt = failedAt;
            attempts = slot.Attempts;
            slot.Error = exception;
            // Parked only once the flag is in the database (the caller sets it): until then other
            // processes (platform status) would still see it catching up.
            slot.State = ProjectionState.Failing;
        }
        if (attempts < _options.MaxAttempts)
        {
            _logger.LogWarning(exception, "Projection {Projection} failed at position {Position} (attempt {Attempt} of {MaxAttempts}); retrying",
                runner.Projection.Name, failedAt, attempts, _options.MaxAttempts);
            return false;
        }
        _logger.LogError(exception,
            "Projection {Projection} parked at position {Position} (stream {StreamId}, event {EventType}) after {Attempts} attempts; the other projections go on. Fix the cause and resume it",
            runner.Projection.Name, failedAt, apply?.StreamId, apply?.EventType, attempts);
        PlatformTelemetry.ProjectionsParked.Add(1, new KeyValuePair<string, object?>("projection", runner.Projection.Name));
        return true;
    }

    /// <summary>
    /// The row in <c>subscription_checkpoints</c> that tells other processes (<c>platform status</c>)
    /// a projection is parked, and at which position; the state itself lives in the engine.
    /// </summary>
    /// <param name="projection">The projection's name.</param>
    public static string ParkedFlagName(string projection) => "parked:" + projection;

    async Task<bool> SetParkedFlagAsync(ProjectionRunner runner, long position, CancellationToken cancellationToken)
    {
        try
        {
            await _store.SaveCheckpointAsync(ParkedFlagName(runner.Projection.Name), position, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The flag only informs other processes; the projection is parked here either way.
            _logger.LogWarning(exception, "Could not record that projection {Projection} is parked", runner.Projection.Name);
            return false;
        }
    }

    // Parked until Resume is called here or another process deletes the parked flag
    // (platform projections resume), which is checked every ResumePollInterval.
    async Task WaitForResumeAsync(Slot slot, bool flagged, CancellationToken stoppingToken)
    {
        var flag = ParkedFlagName(slot.Runner.Projection.Name);
        while (true)
        {
            Task resumed;
            lock (slot)
                resumed = slot.Resumed.Task;
            if (!flagged)
            {
                await resumed.WaitAsync(stoppingToken).ConfigureAwait(false);
                return;
            }
            if (await Task.WhenAny(resumed, Task.Delay(_options.ResumePollInterval, stoppingToken)).ConfigureAwait(false) == resumed)
                return;
            stoppingToken.ThrowIfCancellationRequested();
            long stored;
            try
            {
                stored = await _store.GetCheckpointAsync(flag, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                _logger.LogWarning(exception, "Could not read the parked flag of projection {Projection}", slot.Runner.Projection.Name);
                continue;
            }
            if (stored == 0 && Resume(slot.Runner.Projection.Name))
            {
                _logger.LogInformation("Projection {Projection}: its parked flag was cleared from outside (platform projections resume)",
                    slot.Runner.Projection.Name);
                return;
            }
        }
    }

    async Task ClearParkedFlagAsync(ProjectionRunner runner, CancellationToken cancellationToken)
    {
        try
        {
            // In the store's write turn (on SQLite, the process's writers take turns: SqliteWriteGate).
            await _store.DeleteCheckpointAsync(ParkedFlagName(runner.Projection.Name), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            _logger.LogWarning(exception, "Could not clear the parked flag of projection {Projection}", runner.Projection.Name);
        }
    }

    /// <summary>A projection's position as this process last saw it, whether it is parked here, and a task that completes when the position moves.</summary>
    /// <param name="projection">The projection's name.</param>
    internal (long Position, bool Parked, Task Moved) Observe(string projection)
    {
        var slot = Find(projection);
        // Moved first: a move between the two reads then completes it rather than being missed.
        var moved = slot.Runner.Moved;
        lock (slot)
            return (slot.Runner.Position, slot.State == ProjectionState.Parked, moved);
    }

    Slot Find(string projection) =>
        _slots.TryGetValue(projection, out var slot)
            ? slot
            : throw new ArgumentException(
                $"No loaded projection is named '{projection}'; loaded: {string.Join(", ", _slots.Keys.Order(StringComparer.Ordinal))}.",
                nameof(projection));

    static ProjectionStatus Snapshot(Slot slot)
    {
        lock (slot)
        {
            var state = slot.Rebuild is not null && slot.State is ProjectionState.Live or ProjectionState.CatchingUp
                ? ProjectionState.Rebuilding
                : slot.State;
            return new ProjectionStatus(slot.Runner.Projection.Name, slot.Runner.Position, state, slot.Error)
            {
                Attempts = slot.Attempts,
                EventsApplied = slot.Runner.EventsApplied,
                EventsUnchanged = slot.Runner.EventsUnchanged,
                Rebuild = slot.Rebuild,
            };
        }
    }

    static void SetState(Slot slot, ProjectionState state, Exception? error)
    {
        lock (slot)
        {
            slot.State = state;
            slot.Error = error;
        }
    }

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
