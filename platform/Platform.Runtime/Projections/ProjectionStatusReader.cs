using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Storage;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>
/// Projection status read from the store's database alone, for another process than the runtime
/// (<c>platform status</c>): checkpoint, head, lag in positions and time, and the state the
/// database shows: <see cref="ProjectionState.Parked"/> (the engine's parked flag),
/// <see cref="ProjectionState.Rebuilding"/> (a shadow checkpoint exists), else
/// <see cref="ProjectionState.Live"/> when caught up and <see cref="ProjectionState.CatchingUp"/>
/// when behind. Retrying failures (<see cref="ProjectionState.Failing"/>) are visible only in the
/// runtime (<see cref="ProjectionEngine.GetStatusAsync"/>) and its logs. It also tells whether the
/// table was built by the declaration of the domain given (<see cref="ProjectionStatus.DeclarationMatches"/>).
/// </summary>
public static class ProjectionStatusReader
{
    /// <summary>Reads every projection's status.</summary>
    /// <param name="store">The event store.</param>
    /// <param name="projections">The projections of the loaded domains.</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public static async Task<IReadOnlyList<ProjectionStatus>> ReadAsync(SqlEventStore store, IEnumerable<ProjectionBinding> projections,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(projections);
        var head = await store.GetHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        await using var db = store.CreateDbContext();
        var checkpoints = await db.SubscriptionCheckpoints.AsNoTracking()
            .ToDictionaryAsync(c => c.Name, c => c.Position, StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var connection = db.Database.GetDbConnection();
        var definitions = await ReadDefinitionsAsync(connection, cancellationToken).ConfigureAwait(false);
        var statuses = new List<ProjectionStatus>();
        foreach (var projection in projections.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var position = checkpoints.GetValueOrDefault(projection.CheckpointName);
            var oldest = position < head
                ? await ProjectionCheckpoints.FirstTimestampAfterAsync(connection, position, cancellationToken).ConfigureAwait(false)
                : null;
            var rebuilding = checkpoints.TryGetValue(ProjectionRebuilder.ShadowCheckpointName(projection), out var shadow);
            var state = checkpoints.ContainsKey(ProjectionEngine.ParkedFlagName(projection.Name)) ? ProjectionState.Parked
                : rebuilding ? ProjectionState.Rebuilding
                : position >= head ? ProjectionState.Live
                : ProjectionState.CatchingUp;
            statuses.Add(new ProjectionStatus(projection.Name, position, state, null)
            {
                Head = head,
                LagTime = oldest is { } at && DateTimeOffset.UtcNow > at ? DateTimeOffset.UtcNow - at : TimeSpan.Zero,
                Rebuild = state == ProjectionState.Rebuilding ? new RebuildProgress(projection.Name, 0, shadow, head, 0, null) : null,
                DeclarationMatches = projection.DefinitionFingerprint is { } own && definitions?.GetValueOrDefault(projection.Name) is { } stored
                    ? string.Equals(own, stored, StringComparison.Ordinal)
                    : null,
            });
        }
        return statuses;
    }

    // The fingerprints recorded per projection; null before any runtime made the table.
    static async Task<Dictionary<string, string>?> ReadDefinitionsAsync(System.Data.Common.DbConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = Sql.Command(connection, null, $"SELECT projection, fingerprint FROM {ProjectionSchema.DefinitionsTable}");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var definitions = new Dictionary<string, string>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                definitions[reader.GetString(0)] = reader.GetString(1);
            return definitions;
        }
        catch (System.Data.Common.DbException)
        {
            return null;
        }
    }
}
