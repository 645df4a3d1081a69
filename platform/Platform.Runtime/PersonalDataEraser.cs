using System.Reflection;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;
using Platform.Runtime.Sagas;

namespace Platform.Runtime;

/// <summary>
/// A data subject's erasure: the personal data (<c>personal: true</c>) of one stream, wherever the
/// platform keeps it in the store's database. The stream's events are overwritten and its snapshot
/// deleted (<see cref="SqlEventStore.ErasePersonalDataAsync"/>); the sagas its events started get
/// their personal data overwritten in their row and in what their history recorded as sent; the
/// read models that copy it are named, to rebuild; the stream's dead letters, which keep its
/// messages as sent, are named, or deleted when asked. <c>platform stream erase</c> runs it; so
/// can a service's own endpoint for such requests (registered by <c>AddPlatform</c>).
/// </summary>
public sealed class PersonalDataEraser
{
    readonly SqlEventStore _store;
    readonly DomainCatalog _catalog;
    readonly SagaOperations _sagas;
    readonly DeadLetterStore _deadLetters;
    readonly Scheduling.ScheduledMessageStore _scheduled;

    /// <summary>Creates the eraser on a store, with the domain whose event types, projections and sagas it knows.</summary>
    /// <param name="store">The event store; its registry should hold every type of the streams erased.</param>
    /// <param name="catalog">The domain: sagas and projections.</param>
    /// <param name="provider">The store's database kind.</param>
    /// <param name="connectionString">The store's connection string.</param>
    public PersonalDataEraser(SqlEventStore store, DomainCatalog catalog, StoreProvider provider, string connectionString)
    {
        _store = store;
        _catalog = catalog;
        _sagas = new SagaOperations(provider, connectionString);
        _deadLetters = new DeadLetterStore(provider, connectionString);
        _scheduled = new Scheduling.ScheduledMessageStore(provider, connectionString);
    }

    /// <summary>Erases the stream's personal data; see the class. Erasing again changes nothing.</summary>
    /// <param name="streamId">The stream (aggregate id).</param>
    /// <param name="deleteDeadLetters">Also delete the stream's dead letters, discarded ones included.</param>
    /// <param name="cancellationToken">Cancels between the steps; what was erased stays erased.</param>
    public async Task<PersonalDataErasure> EraseAsync(string streamId, bool deleteDeadLetters = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        // The sagas first, from the events as they are: one may be correlated by a field the erasure overwrites.
        var started = await StartedSagasAsync(streamId, cancellationToken).ConfigureAwait(false);
        var stream = await _store.ErasePersonalDataAsync(streamId, cancellationToken).ConfigureAwait(false);
        var sagas = new List<ErasedSaga>();
        foreach (var (name, id, fields) in started)
        {
            var (found, history) = await _sagas.ErasePersonalDataAsync(name, id, fields, cancellationToken, _catalog.PersonalMessageFields).ConfigureAwait(false);
            if (found)
                sagas.Add(new ErasedSaga(name, id, history));
        }
        // What the events caused and is still to be sent (a delayed reaction's command) carries their data on.
        var caused = new Dictionary<Guid, IReadOnlyList<PersonalField>>();
        foreach (var (eventId, typeName) in stream.PersonalEvents)
            if (_store.Registry.TryGet(typeName, out var descriptor))
                caused[eventId] = descriptor.PersonalFields(descriptor.SchemaVersion);
        var pending = await _scheduled.ErasePersonalDataAsync(caused, cancellationToken, _catalog.PersonalMessageFields).ConfigureAwait(false);
        var rebuild = _catalog.Projections.Where(p => p.PersonalEventTypes.Any(stream.PersonalTypes.Contains))
            .Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        var letters = (await _deadLetters.ListAsync(includeDiscarded: true, cancellationToken).ConfigureAwait(false))
            .Where(letter => letter.StreamId == streamId).Select(letter => letter.Id).ToArray();
        var deleted = 0;
        if (deleteDeadLetters)
        {
            foreach (var letter in letters)
                deleted += await _deadLetters.DeleteAsync(letter, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            letters = [];
        }
        return new PersonalDataErasure(stream, sagas, rebuild, letters, deleted) { PendingMessages = pending };
    }

    // Each saga with personal data that an event of the stream started (the generated machine's
    // PersonalFields and StartedBy(EventEnvelope)).
    async Task<List<(string Saga, Guid Id, IReadOnlyList<PersonalField> Fields)>> StartedSagasAsync(string streamId, CancellationToken cancellationToken)
    {
        var machines = new List<(string Name, Func<EventEnvelope, Guid?> StartedBy, IReadOnlyList<PersonalField> Fields)>();
        foreach (var (machine, _) in _catalog.Sagas)
        {
            if (machine.GetProperty("PersonalFields", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is not IReadOnlyList<PersonalField> { Count: > 0 } fields
                || machine.GetMethod("StartedBy", BindingFlags.Public | BindingFlags.Static, [typeof(EventEnvelope)]) is not { } startedBy)
                continue;
            machines.Add((SagaRuntime.NameOf(machine), startedBy.CreateDelegate<Func<EventEnvelope, Guid?>>(), fields));
        }
        var started = new List<(string, Guid, IReadOnlyList<PersonalField>)>();
        if (machines.Count == 0)
            return started;
        await foreach (var envelope in _store.ReadStreamAsync(streamId, includeArchived: true, cancellationToken: cancellationToken).ConfigureAwait(false))
            foreach (var (name, startedBy, fields) in machines)
                if (startedBy(envelope) is { } id && !started.Exists(s => s.Item1 == name && s.Item2 == id))
                    started.Add((name, id, fields));
        return started;
    }
}

/// <summary>What <see cref="PersonalDataEraser.EraseAsync"/> did.</summary>
/// <param name="Stream">The stream's events and snapshot.</param>
/// <param name="Sagas">The sagas its events started whose personal data was overwritten.</param>
/// <param name="Rebuild">The read models that copy the stream's personal fields: they hold them until rebuilt.</param>
/// <param name="DeadLetters">The stream's dead letters left: they keep its messages as sent, and a replay applies them again.</param>
/// <param name="DeadLettersDeleted">How many of its dead letters were deleted.</param>
public sealed record PersonalDataErasure(StreamErasure Stream, IReadOnlyList<ErasedSaga> Sagas, IReadOnlyList<string> Rebuild,
    IReadOnlyList<Guid> DeadLetters, int DeadLettersDeleted)
{
    /// <summary>Messages its events caused that wait to be sent (a delayed reaction's command) whose copies of the personal fields were overwritten.</summary>
    public int PendingMessages { get; init; }
}

/// <summary>A saga whose personal data was overwritten.</summary>
/// <param name="Saga">Its name.</param>
/// <param name="CorrelationId">The instance.</param>
/// <param name="HistoryRows">Its history rows whose recorded messages changed.</param>
public sealed record ErasedSaga(string Saga, Guid CorrelationId, int HistoryRows);
