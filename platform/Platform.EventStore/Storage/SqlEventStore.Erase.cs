using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Schema;
using Platform.Events;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    /// <summary>
    /// Erases the personal data of one stream: in each of its stored events, live and archived, the
    /// fields its type declares personal at the version it was stored with
    /// (<see cref="Platform.Events.EventTypeDescriptor.PersonalFields"/>) are overwritten with their
    /// erased value, and the stream's snapshot, which may hold the same data in the aggregate's
    /// state, is deleted (the next load replays the erased events). One transaction: a failure
    /// changes nothing. Everything else stays: ids, versions, positions, types, metadata, and the
    /// events' other fields, so the aggregate loads and takes commands and a rebuilt read model
    /// holds the erased values. Erasing again changes nothing. An event of a type this build does
    /// not know is left as it is and named in the result.
    /// </summary>
    /// <param name="streamId">The stream (aggregate id).</param>
    /// <param name="cancellationToken">Cancels the erasure before it commits.</param>
    public async Task<StreamErasure> ErasePersonalDataAsync(string streamId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var context = _dialect.CreateContext();
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var personal = new SortedSet<string>(StringComparer.Ordinal);
        var personalEvents = new Dictionary<Guid, string>();
        var unknown = new SortedSet<string>(StringComparer.Ordinal);
        var live = await context.Events.AsTracking().Where(e => e.StreamId == streamId).ToListAsync(cancellationToken).ConfigureAwait(false);
        var archived = await context.ArchivedEvents.AsTracking().Where(e => e.StreamId == streamId).ToListAsync(cancellationToken).ConfigureAwait(false);
        var liveErased = live.Count(row => Erase(row, personal, unknown));
        var archivedErased = archived.Count(row => Erase(row, personal, unknown));
        foreach (var row in live.Concat<StoredEventRow>(archived))
            if (personal.Contains(row.TypeName))
                personalEvents[row.EventId] = row.TypeName;
        await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        var snapshots = await context.Snapshots.Where(s => s.StreamId == streamId).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        var result = new StreamErasure(streamId, live.Count + archived.Count, liveErased + archivedErased, archivedErased, snapshots > 0,
            personal.ToArray(), unknown.ToArray()) { PersonalEvents = personalEvents };
        _logger.LogInformation("Erased the personal data of stream {StreamId}: {Erased} of {Events} events ({Types}), snapshot deleted: {Snapshot}",
            streamId, result.ErasedEvents, result.Events, string.Join(", ", result.PersonalTypes), result.SnapshotDeleted);
        return result;
    }

    // Overwrites the row's personal fields; false when it has none, or none left to erase.
    bool Erase(StoredEventRow row, SortedSet<string> personal, SortedSet<string> unknown)
    {
        if (!_registry.TryGet(row.TypeName, out var descriptor))
        {
            unknown.Add(row.TypeName);
            return false;
        }
        var fields = descriptor.PersonalFields(row.SchemaVersion);
        if (fields.Count == 0)
            return false;
        personal.Add(row.TypeName);
        if (JsonNode.Parse(row.Data) is not JsonObject payload)
            throw new InvalidOperationException(
                $"Event {row.TypeName} at version {row.StreamVersion} of stream '{row.StreamId}' (position {row.GlobalPosition}) is not a JSON object; nothing was erased.");
        if (!PersonalField.Erase(payload, fields))
            return false;
        row.Data = payload.ToJsonString();
        return true;
    }
}

/// <summary>What <see cref="SqlEventStore.ErasePersonalDataAsync"/> did to one stream.</summary>
/// <param name="StreamId">The stream.</param>
/// <param name="Events">Its stored events, live and archived.</param>
/// <param name="ErasedEvents">Those whose personal fields were overwritten (0 when erased before).</param>
/// <param name="ErasedArchivedEvents">Of <paramref name="ErasedEvents"/>, those in the archive.</param>
/// <param name="SnapshotDeleted">Whether a snapshot of the stream was deleted.</param>
/// <param name="PersonalTypes">The stable type names of its events that hold personal data (erased now or before): the read models built from them still hold what they copied until rebuilt.</param>
/// <param name="UnknownTypes">Type names this build does not know: those events were left as they are.</param>
public sealed record StreamErasure(string StreamId, int Events, int ErasedEvents, int ErasedArchivedEvents, bool SnapshotDeleted,
    IReadOnlyList<string> PersonalTypes, IReadOnlyList<string> UnknownTypes)
{
    /// <summary>The ids of its events whose types hold personal data, with their stable type names: what they caused may carry it on.</summary>
    public IReadOnlyDictionary<Guid, string> PersonalEvents { get; init; } = new Dictionary<Guid, string>();
}
