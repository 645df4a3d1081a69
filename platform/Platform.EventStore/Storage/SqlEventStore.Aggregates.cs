using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Serialization;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    /// <inheritdoc />
    public async Task<LoadedAggregate<TState>> LoadAsync<TState>(AggregateDefinition<TState> definition, string id,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentException.ThrowIfNullOrEmpty(id);

        var state = definition.CreateEmpty();
        long version = 0, snapshotVersion = 0, position = 0;
        var staleSnapshot = false;
        var snapshots = definition.Snapshot;
        if (snapshots is not null && definition.SnapshotEvery > 0)
        {
            await using var context = _dialect.CreateContext();
            var snapshot = await context.Snapshots.FirstOrDefaultAsync(s => s.StreamId == id, cancellationToken).ConfigureAwait(false);
            if (snapshot is not null)
            {
                // A snapshot written for another state shape is never read: it could be silently wrong.
                if (string.Equals(snapshot.SchemaFingerprint, snapshots.SchemaFingerprint, StringComparison.Ordinal))
                {
                    state = EventCodec.ReadUtf8(snapshot.Data, snapshots, static (utf8, d) => d.Read(utf8));
                    version = snapshotVersion = snapshot.StreamVersion;
                }
                else
                {
                    staleSnapshot = true;
                }
            }
        }

        await foreach (var envelope in ReadStreamAsync(id, version + 1, includeArchived: true, cancellationToken: cancellationToken)
                           .ConfigureAwait(false))
        {
            state = definition.Apply(state, envelope);
            version = envelope.StreamVersion;
            position = envelope.GlobalPosition;
        }

        if (staleSnapshot && version >= definition.SnapshotEvery)
            await WriteSnapshotAsync(definition, id, state, version, cancellationToken).ConfigureAwait(false);
        return new LoadedAggregate<TState>(id, state, version, snapshotVersion) { Position = position };
    }

    /// <inheritdoc />
    public async Task<LoadedAggregate<TState>> SaveAsync<TState>(AggregateDefinition<TState> definition,
        LoadedAggregate<TState> loaded, IReadOnlyList<EventData> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(events);

        var appended = await AppendDetailedAsync(loaded.Id, definition.AggregateType, ExpectedVersion.Exactly(loaded.Version),
            events, cancellationToken).ConfigureAwait(false);
        var result = appended.Result;
        if (result.Appended != events.Count)
        {
            // A retry whose events were already stored: their envelopes are in the database, not here.
            return await LoadAsync(definition, loaded.Id, cancellationToken).ConfigureAwait(false) with { AlreadyStored = true };
        }

        // Apply the envelopes a later load will read (same positions, timestamp and metadata), so
        // the returned state and any snapshot written from it equal a replay.
        var state = loaded.State;
        for (var i = 0; i < events.Count; i++)
        {
            var encoded = appended.Encoded[i];
            var envelope = new EventEnvelope(events[i].EventId, encoded.TypeName, encoded.SchemaVersion, loaded.Id,
                definition.AggregateType, loaded.Version + i + 1, appended.Positions[i], appended.Timestamp, events[i].Metadata,
                events[i].Event);
            state = definition.Apply(state, envelope);
        }

        var every = definition.SnapshotEvery;
        var snapshotVersion = loaded.SnapshotVersion;
        if (every > 0 && definition.Snapshot is not null && result.NextExpectedVersion / every > loaded.Version / every)
        {
            // Written after the append commits: a crash in between only costs a longer next load.
            await WriteSnapshotAsync(definition, loaded.Id, state, result.NextExpectedVersion, cancellationToken).ConfigureAwait(false);
            snapshotVersion = result.NextExpectedVersion;
        }
        return new LoadedAggregate<TState>(loaded.Id, state, result.NextExpectedVersion, snapshotVersion) { Position = appended.Positions.Length > 0 ? appended.Positions[^1] : loaded.Position };
    }

    /// <summary>How many of a command's events <see cref="FindCommandAsync"/> looks for: more than any command emits.</summary>
    internal const int CommandEventsSought = 32;

    /// <inheritdoc />
    public async Task<StoredCommand?> FindCommandAsync(string id, Guid commandId, string commandType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(commandType);
        var ids = new Guid[CommandEventsSought];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = EventData.IdFor(commandId, id, commandType, i);
        await using var context = _dialect.CreateContext();
        // The unique index on event_id finds them; the archive, where a stream's events may have moved
        // since, by its stream index.
        var stored = await context.Events.Where(e => ids.Contains(e.EventId) && e.StreamId == id)
            .Select(e => new { e.StreamVersion, e.GlobalPosition }).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (stored.Count == 0)
            stored = await context.ArchivedEvents.Where(e => e.StreamId == id && ids.Contains(e.EventId))
                .Select(e => new { e.StreamVersion, e.GlobalPosition }).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (stored.Count == 0)
            return null;
        var last = stored.MaxBy(e => e.StreamVersion)!;
        return new StoredCommand(last.StreamVersion, last.GlobalPosition, stored.Count);
    }

    async Task WriteSnapshotAsync<TState>(AggregateDefinition<TState> definition, string id, TState state, long version,
        CancellationToken cancellationToken)
    {
        var snapshots = definition.Snapshot!;
        var data = EventCodec.Serialize(snapshots, state);
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var context = _dialect.CreateContext();
        await context.Database.ExecuteSqlRawAsync(_dialect.UpsertSnapshotSql,
            [id, definition.AggregateType, version, snapshots.SchemaFingerprint, data, _dialect.TimestampParameter(DateTimeOffset.UtcNow)],
            cancellationToken).ConfigureAwait(false);
    }
}
