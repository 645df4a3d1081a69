using Microsoft.EntityFrameworkCore;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

public sealed partial class SqlEventStore
{
    /// <inheritdoc />
    public async Task<AppendResult> AppendAsync(string streamId, string streamType, ExpectedVersion expected,
        IReadOnlyList<EventData> events, CancellationToken cancellationToken = default) =>
        (await AppendDetailedAsync(streamId, streamType, expected, events, cancellationToken).ConfigureAwait(false)).Result;

    /// <summary>What an append stored, for callers that apply the events themselves (aggregates).</summary>
    readonly record struct AppendDetails(AppendResult Result, EncodedEvent[] Encoded, long[] Positions, DateTimeOffset Timestamp);

    async Task<AppendDetails> AppendDetailedAsync(string streamId, string streamType, ExpectedVersion expected,
        IReadOnlyList<EventData> events, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentException.ThrowIfNullOrEmpty(streamType);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
            return new AppendDetails(await CheckOnlyAsync(streamId, expected, cancellationToken).ConfigureAwait(false), [], [], default);

        var encoded = Encode(events);
        var timestamp = Now();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var outcome = await _dialect.AppendAndCommitAsync(streamId, streamType, expected,
                    encoded, timestamp, cancellationToken).ConfigureAwait(false);
                if (outcome.Written == 0)
                    throw new ConcurrencyException(streamId, expected, outcome.VersionBefore);
                return new AppendDetails(new AppendResult(streamId, outcome.VersionBefore + outcome.Written, outcome.Written),
                    encoded, outcome.Positions, timestamp);
            }
            catch (Exception exception) when (_dialect.ClassifyAppendError(exception) == AppendFailure.StreamVersionTaken)
            {
                // Another writer took the version between our read of the stream and our insert.
                if (expected.IsAny && attempt < _options.AnyVersionRetries)
                    continue;
                var actual = await GetStreamVersionAsync(streamId, cancellationToken).ConfigureAwait(false);
                throw new ConcurrencyException(streamId, expected, actual, exception);
            }
            catch (Exception exception) when (_dialect.ClassifyAppendError(exception) == AppendFailure.DuplicateEventId)
            {
                // A retry after a lost acknowledgement finds its own events already stored: that is success.
                var stored = await FindStoredRetryAsync(streamId, encoded, cancellationToken).ConfigureAwait(false);
                if (stored is { } version)
                    return new AppendDetails(new AppendResult(streamId, version, 0), encoded, [], timestamp);
                throw new DuplicateEventException(streamId, exception);
            }
        }
    }

    /// <summary>
    /// The append time, cut to whole microseconds: PostgreSQL keeps no finer, and an aggregate
    /// applying its just-saved events must see the same timestamp a later load reads back.
    /// </summary>
    static DateTimeOffset Now()
    {
        var ticks = DateTimeOffset.UtcNow.UtcTicks;
        return new DateTimeOffset(ticks - ticks % 10, TimeSpan.Zero);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<StreamAppend> appends,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(appends);
        await using var transaction = await BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var results = new AppendResult[appends.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var append = appends[i];
            results[i] = await transaction.AppendAsync(append.StreamId, append.StreamType, append.Expected, append.Events,
                cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return results;
    }

    /// <inheritdoc />
    async Task<IEventStoreTransaction> IEventStore.BeginTransactionAsync(CancellationToken cancellationToken) =>
        await BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Starts a transaction on a connection of its own. Its <see cref="EventStoreTransaction.Connection"/>
    /// and <see cref="EventStoreTransaction.Transaction"/> can be shared with an EF Core context
    /// (e.g. an inbox row and a read model update) so they commit with the appends.
    /// </summary>
    /// <param name="cancellationToken">Cancels opening the transaction.</param>
    public async Task<EventStoreTransaction> BeginTransactionAsync(CancellationToken cancellationToken = default)
    {
        // Opened before the write turn is taken: the turn covers only the transaction.
        var connection = await _dialect.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        IDisposable? turn = null;
        try
        {
            turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
            var transaction = await _dialect.BeginTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            return new EventStoreTransaction(this, connection, transaction, turn);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            turn?.Dispose();
            throw;
        }
    }

    internal async Task<AppendResult> AppendInTransactionAsync(EventStoreTransaction transaction, string streamId,
        string streamType, ExpectedVersion expected, IReadOnlyList<EventData> events, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentException.ThrowIfNullOrEmpty(streamType);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
            return await CheckOnlyAsync(streamId, expected, cancellationToken).ConfigureAwait(false);
        var encoded = Encode(events);
        try
        {
            var outcome = await _dialect.AppendAsync(transaction.Connection, transaction.Transaction, streamId,
                streamType, expected, encoded, Now(), cancellationToken).ConfigureAwait(false);
            if (outcome.Written == 0)
                throw new ConcurrencyException(streamId, expected, outcome.VersionBefore);
            return new AppendResult(streamId, outcome.VersionBefore + outcome.Written, outcome.Written);
        }
        catch (Exception exception) when (_dialect.ClassifyAppendError(exception) == AppendFailure.StreamVersionTaken)
        {
            var actual = await GetStreamVersionAsync(streamId, cancellationToken).ConfigureAwait(false);
            throw new ConcurrencyException(streamId, expected, actual, exception);
        }
        catch (Exception exception) when (_dialect.ClassifyAppendError(exception) == AppendFailure.DuplicateEventId)
        {
            throw new DuplicateEventException(streamId, exception);
        }
    }

    async Task<AppendResult> CheckOnlyAsync(string streamId, ExpectedVersion expected, CancellationToken cancellationToken)
    {
        var current = await GetStreamVersionAsync(streamId, cancellationToken).ConfigureAwait(false);
        if (!expected.IsSatisfiedBy(current))
            throw new ConcurrencyException(streamId, expected, current);
        return new AppendResult(streamId, current, 0);
    }

    /// <summary>The stream version of the last event when all of them are already stored, in order, in this stream.</summary>
    async Task<long?> FindStoredRetryAsync(string streamId, EncodedEvent[] events, CancellationToken cancellationToken)
    {
        var ids = events.Select(e => e.EventId).ToArray();
        await using var context = _dialect.CreateContext();
        var stored = await context.Events
            .Where(e => ids.Contains(e.EventId))
            .Select(e => new { e.EventId, e.StreamId, e.StreamVersion })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (stored.Count != ids.Length || stored.Any(s => s.StreamId != streamId))
            return null;
        var versionById = stored.ToDictionary(s => s.EventId, s => s.StreamVersion);
        for (var i = 1; i < ids.Length; i++)
            if (versionById[ids[i]] != versionById[ids[i - 1]] + 1)
                return null;
        return versionById[ids[^1]];
    }
}
