using Platform.Events;

namespace Platform.Persistence;

/// <summary>
/// What the store needs to load and save one kind of aggregate: its type name, its empty state,
/// how an event changes the state, and when and how to snapshot it. The generator emits one per
/// aggregate (with <see cref="Apply(TState, object)"/> as a switch over the event types, no reflection).
/// </summary>
/// <typeparam name="TState">The aggregate's state.</typeparam>
public abstract class AggregateDefinition<TState>
{
    /// <summary>The aggregate type, stored as the stream type of its events.</summary>
    public abstract string AggregateType { get; }

    /// <summary>Write a snapshot whenever the stream's version crosses a multiple of this; 0 never snapshots.</summary>
    public virtual int SnapshotEvery => 0;

    /// <summary>How the state is written to snapshots; null when the aggregate is never snapshotted.</summary>
    public virtual SnapshotDescriptor<TState>? Snapshot => null;

    /// <summary>The state of an aggregate that has no events.</summary>
    public abstract TState CreateEmpty();

    /// <summary>Returns the state after <paramref name="event"/> (which may be the same instance, mutated).</summary>
    /// <param name="state">The state before the event.</param>
    /// <param name="event">An event of this aggregate, at its current schema version.</param>
    public abstract TState Apply(TState state, object @event);

    /// <summary>
    /// Returns the state after a stored event. Definitions whose effects read the envelope
    /// (<c>$meta.timestamp</c> and the like) override this; the default applies the event alone.
    /// </summary>
    /// <param name="state">The state before the event.</param>
    /// <param name="envelope">The stored event with its metadata, upcast to the current schema version.</param>
    public virtual TState Apply(TState state, EventEnvelope envelope) => Apply(state, envelope.Event);
}

/// <summary>An aggregate's state as loaded, with the version to expect when saving.</summary>
/// <typeparam name="TState">The aggregate's state.</typeparam>
/// <param name="Id">The aggregate id (stream id).</param>
/// <param name="State">The state after every event.</param>
/// <param name="Version">The stream version the state reflects (0 for a new aggregate).</param>
/// <param name="SnapshotVersion">The version of the snapshot the load started from, 0 when none was used.</param>
public sealed record LoadedAggregate<TState>(string Id, TState State, long Version, long SnapshotVersion)
{
    /// <summary>
    /// The global position of the last event the state reflects, when it was read or appended (0
    /// when the state came from a snapshot alone, or the aggregate is new). After a save, the
    /// position of its last event: a read model whose projection has reached it includes the save.
    /// </summary>
    public long Position { get; init; }

    /// <summary>
    /// After a save: true when every event's id was found already stored, in order, in this stream,
    /// so nothing was appended and the state is the stream's as reloaded: a retry after a lost
    /// acknowledgement, or the same command saved by another delivery between this one's load and
    /// its insert (the version is then the one this save would have reached, so it cannot tell).
    /// </summary>
    public bool AlreadyStored { get; init; }
}

/// <summary>Loads aggregates from their snapshot and events, and saves their new events (and snapshots).</summary>
public interface IAggregateStore
{
    /// <summary>Loads the latest usable snapshot (if any) and applies the events after it.</summary>
    /// <typeparam name="TState">The aggregate's state.</typeparam>
    /// <param name="definition">The aggregate's definition.</param>
    /// <param name="id">The aggregate id.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    Task<LoadedAggregate<TState>> LoadAsync<TState>(AggregateDefinition<TState> definition, string id,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends the aggregate's new events expecting <see cref="LoadedAggregate{TState}.Version"/>,
    /// and writes a snapshot when the new version crosses a multiple of
    /// <see cref="AggregateDefinition{TState}.SnapshotEvery"/>. The new events are applied through
    /// <see cref="AggregateDefinition{TState}.Apply(TState, Platform.Events.EventEnvelope)"/> with the same
    /// envelopes (positions, timestamp, metadata) a later load reads, so the returned state equals a replay.
    /// </summary>
    /// <typeparam name="TState">The aggregate's state.</typeparam>
    /// <param name="definition">The aggregate's definition.</param>
    /// <param name="loaded">The aggregate as loaded.</param>
    /// <param name="events">The new events, in order.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>The aggregate after the events, ready for the next command.</returns>
    /// <exception cref="ConcurrencyException">Another writer saved the aggregate since it was loaded.</exception>
    Task<LoadedAggregate<TState>> SaveAsync<TState>(AggregateDefinition<TState> definition, LoadedAggregate<TState> loaded,
        IReadOnlyList<EventData> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// The events a command already stored in stream <paramref name="id"/>, found by the ids
    /// <see cref="EventData.IdFor"/> gives them: how a command delivered again is recognised.
    /// </summary>
    /// <param name="id">The aggregate id.</param>
    /// <param name="commandId">The command's id.</param>
    /// <param name="commandType">The command's type name.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The stream version and global position of the last of them; null when none is stored.</returns>
    Task<StoredCommand?> FindCommandAsync(string id, Guid commandId, string commandType, CancellationToken cancellationToken = default);
}

/// <summary>Where the events of a command that was already handled are stored.</summary>
/// <param name="Version">The stream's version after the command's last event.</param>
/// <param name="Position">The global position of that event.</param>
/// <param name="Events">How many events the command stored.</param>
public sealed record StoredCommand(long Version, long Position, int Events);
