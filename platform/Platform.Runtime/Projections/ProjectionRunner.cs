using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>
/// Runs one projection from the store: reads all events after its checkpoint in gap-free global
/// order, archived events included (<see cref="SqlEventStore.ReadAllAsync(long, int, bool, CancellationToken)"/>), applies the ones it reads through the
/// generated handler, and writes the rows and the new checkpoint in one transaction of the store's
/// database. Catch-up and live are the same loop, so there is no hand-over to get wrong: a crash
/// before commit re-applies the batch from the old checkpoint, a crash after it starts after it.
/// </summary>
public sealed class ProjectionRunner
{
    readonly SqlEventStore _store;
    readonly StoreProvider _provider;
    readonly int _batchSize;
    readonly HashSet<string> _eventTypes;
    readonly RowPrefetch _prefetch = new();

    int _batchesNotPrefetched;

    /// <summary>Batches whose rows were looked up one by one, the prefetch not understanding the table or the handler's lookups.</summary>
    internal int BatchesNotPrefetched => Volatile.Read(ref _batchesNotPrefetched);

    /// <summary>Saves rows with EF Core's <c>SaveChanges</c> even where <see cref="RowUpserts"/> could (tests compare the two).</summary>
    internal bool SaveWithEfCore { get; init; }

    /// <summary>Creates a runner.</summary>
    /// <param name="store">The event store (its database also holds the table and checkpoint).</param>
    /// <param name="provider">The database kind.</param>
    /// <param name="projection">The projection.</param>
    /// <param name="batchSize">Events read and committed per transaction.</param>
    /// <param name="tableName">The table to write; the generated default when null (a shadow table for a replay).</param>
    /// <param name="checkpointName">The checkpoint row; <see cref="ProjectionBinding.CheckpointName"/> when null.</param>
    public ProjectionRunner(SqlEventStore store, StoreProvider provider, ProjectionBinding projection, int batchSize = 500,
        string? tableName = null, string? checkpointName = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        Projection = projection ?? throw new ArgumentNullException(nameof(projection));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _provider = provider;
        _batchSize = batchSize;
        TableName = tableName ?? projection.DefaultTableName;
        CheckpointName = checkpointName ?? projection.CheckpointName;
        _live = tableName is null && checkpointName is null;
        _eventTypes = new HashSet<string>(projection.EventTypes, StringComparer.Ordinal);
    }

    /// <summary>The projection.</summary>
    public ProjectionBinding Projection { get; }

    /// <summary>The table it writes.</summary>
    public string TableName { get; }

    /// <summary>Its checkpoint row.</summary>
    public string CheckpointName { get; }

    /// <summary>The last committed checkpoint this runner saw (0 before it ran).</summary>
    public long Position => Interlocked.Read(ref _position);

    long _position;
    readonly bool _live; // the engine's runner, not a rebuild's or a replay's
    TaskCompletionSource _moved = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes the next time <see cref="Position"/> changes (this runner's commit, or another process's seen at a catch-up).</summary>
    public Task Moved => Volatile.Read(ref _moved).Task;

    void SetPosition(long position)
    {
        if (Interlocked.Exchange(ref _position, position) != position)
            Interlocked.Exchange(ref _moved, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Creates the table if missing.</summary>
    /// <param name="cancellationToken">Cancels the DDL.</param>
    public Task EnsureTableAsync(CancellationToken cancellationToken = default) =>
        ProjectionSchema.EnsureTableAsync(_store, _provider, Projection, TableName, cancellationToken);

    /// <summary>Events this runner passed to the generated handler and committed.</summary>
    public long EventsApplied => Interlocked.Read(ref _eventsApplied);

    /// <summary>
    /// Committed events the generated handler left unchanged (it had already applied a later or
    /// the same position to the row, or found no row to update); a rebuild's hand-over test
    /// watches it to prove no event reached the same table twice.
    /// </summary>
    public long EventsUnchanged => Interlocked.Read(ref _eventsUnchanged);

    long _eventsApplied;
    long _eventsUnchanged;

    // After a batch fails, the events up to its end are retried one per transaction, so the
    // events before the poison one commit and the failure names exactly one event.
    long _oneByOneUntil;

    /// <summary>Applies every event committed after the checkpoint; returns how many events the projection read.</summary>
    /// <param name="cancellationToken">Stops between batches; an interrupted batch commits nothing.</param>
    public Task<int> CatchUpAsync(CancellationToken cancellationToken = default) => CatchUpAsync(null, cancellationToken);

    /// <summary>
    /// Applies every event committed after the checkpoint, reporting each committed batch; returns
    /// how many events the projection read. Returns early, with the stored checkpoint reloaded on
    /// the next call, when another process moved the checkpoint underneath (a rebuild's swap).
    /// </summary>
    /// <param name="onBatch">Called after each commit with the events read in the batch and the new checkpoint.</param>
    /// <param name="cancellationToken">Stops between batches; an interrupted batch commits nothing.</param>
    public async Task<int> CatchUpAsync(Action<int, long>? onBatch, CancellationToken cancellationToken = default)
    {
        var position = await _store.GetCheckpointAsync(CheckpointName, cancellationToken).ConfigureAwait(false);
        SetPosition(position);
        var applied = 0;
        // Behind the head (a catch-up, a rebuild) the next page is read while this one is applied
        // and committed, on another connection: reading and writing overlap instead of alternating.
        Task<AllEventsPage>? ahead = null;
        try
        {
            while (true)
            {
                var size = position < Interlocked.Read(ref _oneByOneUntil) ? 1 : _batchSize;
                var page = ahead is not null
                    ? await ahead.ConfigureAwait(false)
                    : await _store.ReadAllAsync(position, size, includeArchived: true, cancellationToken).ConfigureAwait(false);
                ahead = null;
                var moved = page.NextPosition != position;
                if (moved && !page.ReachedEnd && size == _batchSize)
                    ahead = _store.ReadAllAsync(page.NextPosition, _batchSize, includeArchived: true, cancellationToken);
                if (moved)
                {
                    int? batch;
                    try
                    {
                        batch = await ApplyBatchAsync(page.Events, position, page.NextPosition, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception exception) when (exception is not ProjectionSupersededException && !cancellationToken.IsCancellationRequested)
                    {
                        if (page.NextPosition > Interlocked.Read(ref _oneByOneUntil))
                            Interlocked.Exchange(ref _oneByOneUntil, page.NextPosition);
                        throw;
                    }
                    if (batch is null)
                        return applied;
                    applied += batch.Value;
                    position = page.NextPosition;
                    SetPosition(position);
                    onBatch?.Invoke(page.Events.Count, position);
                }
                if (page.ReachedEnd || !moved)
                    return applied;
            }
        }
        finally
        {
            // A page read ahead and not used (the batch failed, the checkpoint moved): wait for it
            // so its connection goes back to the pool, and drop whatever it read or threw.
            if (ahead is not null)
                await ((Task)ahead).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // Null when the stored checkpoint is no longer the one this batch started after: a rebuild
    // swapped the table (and its checkpoint) in, or an operator moved it; the caller reloads it.
    async Task<int?> ApplyBatchAsync(IReadOnlyList<EventEnvelope> events, long startPosition, long nextPosition,
        CancellationToken cancellationToken)
    {
        await using var transaction = await _store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // The live table's declaration is checked under the same lock a swap takes: once another
        // build's rebuild has swapped its table in, this build's rows no longer fit it.
        var own = _live ? Projection.DefinitionFingerprint : null;
        var (stored, definition) = await ProjectionCheckpoints.ReadForUpdateAsync(transaction.Connection, transaction.Transaction, _provider,
            CheckpointName, own is null ? null : Projection.Name, cancellationToken).ConfigureAwait(false);
        if (definition is not null && own is not null && !string.Equals(definition, own, StringComparison.Ordinal))
            throw new ProjectionSupersededException(Projection.Name, definition, own);
        if (stored != startPosition)
            return null;
        var applied = 0;
        var unchanged = 0;
        EventEnvelope? current = null;
        try
        {
            await using (var db = ProjectionDbContext.Create(_provider, transaction.Connection, Projection, TableName))
            {
                await db.Database.UseTransactionAsync(transaction.Transaction, cancellationToken).ConfigureAwait(false);
                // One query for the rows the batch touches instead of one per event (RowPrefetch).
                var read = events.Where(e => _eventTypes.Contains(e.TypeName)).ToList();
                if (read.Count > 0 && !await _prefetch.PrepareAsync(db, () => ProjectionDbContext.Create(_provider, transaction.Connection, Projection, TableName),
                        transaction.Transaction, read, cancellationToken).ConfigureAwait(false))
                    Interlocked.Increment(ref _batchesNotPrefetched);
                foreach (var envelope in events)
                {
                    if (!_eventTypes.Contains(envelope.TypeName))
                        continue;
                    current = envelope;
                    using (StartApplyActivity(envelope))
                    {
                        if (!await Projection.ApplyAsync(db, envelope, cancellationToken).ConfigureAwait(false))
                            unchanged++;
                    }
                    applied++;
                }
                current = applied == 1 ? current : null;
                if (applied > 0 && (SaveWithEfCore
                        || !await RowUpserts.TrySaveAsync(db, transaction.Connection, transaction.Transaction, cancellationToken).ConfigureAwait(false)))
                    await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }
            await SaveCheckpointAsync(transaction.Connection, transaction.Transaction, nextPosition, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new ProjectionApplyException(Projection.Name, startPosition, current, exception);
        }
        Interlocked.Add(ref _eventsApplied, applied);
        Interlocked.Add(ref _eventsUnchanged, unchanged);
        var tag = new KeyValuePair<string, object?>("projection", Projection.Name);
        PlatformTelemetry.ProjectionEventsApplied.Add(applied, tag);
        if (_live && PlatformTelemetry.ProjectionLatency.Enabled)
        {
            var committed = DateTimeOffset.UtcNow;
            foreach (var envelope in events)
                if (_eventTypes.Contains(envelope.TypeName))
                    PlatformTelemetry.ProjectionLatency.Record(Math.Max(0, (committed - envelope.Timestamp).TotalSeconds), tag);
        }
        return applied;
    }

    // One trace from command to read model: the projection reads the store, not the bus, so the
    // only link to the command is the trace context stored with the event. Nothing is allocated
    // while nobody listens.
    Activity? StartApplyActivity(EventEnvelope envelope)
    {
        if (!PlatformTelemetry.ActivitySource.HasListeners())
            return null;
        ActivityContext.TryParse(envelope.Metadata.TraceParent, envelope.Metadata.TraceState, out var parent);
        var activity = PlatformTelemetry.ActivitySource.StartActivity("platform.project " + Projection.Name, ActivityKind.Consumer, parent);
        if (activity is not null)
        {
            activity.SetTag("platform.projection", Projection.Name);
            activity.SetTag("platform.event_type", envelope.TypeName);
            activity.SetTag("platform.stream_id", envelope.StreamId);
            activity.SetTag("platform.global_position", envelope.GlobalPosition);
            activity.SetTag("platform.table", TableName);
        }
        return activity;
    }

    // SqlEventStore.SaveCheckpointAsync uses a connection of its own; the checkpoint must commit
    // with the rows, so the same upsert runs here on the batch's transaction.
    async Task SaveCheckpointAsync(DbConnection connection, DbTransaction transaction, long position, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO subscription_checkpoints (name, position, updated_at) VALUES (@name, @position, @at)
            ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            """;
        Add(command, "name", CheckpointName);
        Add(command, "position", position);
        // The store keeps timestamps as timestamptz on PostgreSQL and as UTC ticks on SQLite.
        Add(command, "at", _provider == StoreProvider.Postgres ? DateTimeOffset.UtcNow : DateTimeOffset.UtcNow.UtcTicks);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
