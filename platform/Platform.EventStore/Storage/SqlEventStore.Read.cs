using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Schema;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion = 1,
        ReadDirection direction = ReadDirection.Forwards, int maxCount = int.MaxValue, bool includeArchived = false,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        if (maxCount == 0)
            yield break;

        await using var context = _dialect.CreateContext();
        var forwards = direction == ReadDirection.Forwards;
        // Archived events are always older than the hot ones of the same stream, so reading the
        // archive first (forwards) or last (backwards) keeps the stream in version order.
        var sources = new List<IQueryable<StoredEventRow>>(2);
        if (includeArchived && forwards) sources.Add(StreamQuery(context.ArchivedEvents, streamId, fromVersion, forwards));
        sources.Add(StreamQuery(context.Events, streamId, fromVersion, forwards));
        if (includeArchived && !forwards) sources.Add(StreamQuery(context.ArchivedEvents, streamId, fromVersion, forwards));

        var returned = 0;
        foreach (var source in sources)
        {
            var query = maxCount == int.MaxValue ? source : source.Take(maxCount - returned);
            await foreach (var row in query.AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var envelope = await ToEnvelopeAsync(row, cancellationToken).ConfigureAwait(false);
                if (envelope is null)
                    continue;
                yield return envelope;
                if (++returned == maxCount)
                    yield break;
            }
        }
    }

    static IQueryable<StoredEventRow> StreamQuery<T>(IQueryable<T> table, string streamId, long fromVersion, bool forwards)
        where T : StoredEventRow =>
        forwards
            ? table.Where(e => e.StreamId == streamId && e.StreamVersion >= fromVersion).OrderBy(e => e.StreamVersion)
            : table.Where(e => e.StreamId == streamId && e.StreamVersion <= fromVersion).OrderByDescending(e => e.StreamVersion);

    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> ReadByTypeAsync(string typeName, DateTimeOffset since,
        int maxCount = int.MaxValue, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeName);
        await using var context = _dialect.CreateContext();
        var query = context.Events
            .Where(e => e.TypeName == typeName && e.Timestamp >= since)
            .OrderBy(e => e.GlobalPosition)
            .Take(maxCount);
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var envelope = await ToEnvelopeAsync(row, cancellationToken).ConfigureAwait(false);
            if (envelope is not null)
                yield return envelope;
        }
    }

    /// <inheritdoc />
    public async Task<long> GetStreamVersionAsync(string streamId, CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        var hot = await context.Events.Where(e => e.StreamId == streamId)
            .MaxAsync(e => (long?)e.StreamVersion, cancellationToken).ConfigureAwait(false);
        if (hot is { } version)
            return version;
        var archived = await context.ArchivedEvents.Where(e => e.StreamId == streamId)
            .MaxAsync(e => (long?)e.StreamVersion, cancellationToken).ConfigureAwait(false);
        return archived ?? 0;
    }

    /// <inheritdoc />
    public async Task<long> GetHeadPositionAsync(CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        return await context.Events.MaxAsync(e => (long?)e.GlobalPosition, cancellationToken).ConfigureAwait(false) ?? 0;
    }
}
