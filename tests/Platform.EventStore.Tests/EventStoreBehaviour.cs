using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Events;
using Platform.Persistence;
using Xunit;

namespace Platform.EventStore.Tests;

/// <summary>
/// The behaviour of the store, run on PostgreSQL and on SQLite by the two subclasses: the same
/// tests, the same assertions.
/// </summary>
public abstract partial class EventStoreBehaviour : IAsyncLifetime
{
    readonly List<SqlEventStore> _stores = [];
    SqlEventStore? _store;

    protected abstract IStoreFixture Fixture { get; }

    /// <summary>Events per writer in the late-commit test.</summary>
    protected abstract int LateCommitEventsPerWriter { get; }

    protected SqlEventStore Store => _store ??= NewStore(Registries.Current());

    protected SqlEventStore NewStore(EventTypeRegistry registry, BadEventHandling onBadEvent = BadEventHandling.Throw)
    {
        var store = new SqlEventStore(Fixture.Options(onBadEvent), registry);
        _stores.Add(store);
        return store;
    }

    protected static string NewStream(string name) => $"{name}-{Guid.NewGuid():N}";

    protected static EventData[] Items(int count, string prefix = "sku") =>
        Enumerable.Range(1, count).Select(i => EventData.Create(new ItemAdded($"{prefix}-{i}", i))).ToArray();

    protected static async Task<List<EventEnvelope>> ReadAllAsync(SqlEventStore store, long after, int pageSize = 100)
    {
        var events = new List<EventEnvelope>();
        while (true)
        {
            var page = await store.ReadAllAsync(after, pageSize);
            events.AddRange(page.Events);
            after = page.NextPosition;
            if (page.ReachedEnd)
                return events;
        }
    }

    /// <summary>Reads every event after <paramref name="start"/> as it commits, until <paramref name="writersDone"/> and caught up.</summary>
    protected Task<List<EventEnvelope>> TailAsync(long start, int pageSize, Func<bool> writersDone, CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            var seen = new List<EventEnvelope>();
            var position = start;
            while (true)
            {
                var finished = writersDone();
                var page = await Store.ReadAllAsync(position, pageSize, cancellationToken);
                seen.AddRange(page.Events);
                Assert.True(page.NextPosition >= position);
                position = page.NextPosition;
                if (page.ReachedEnd)
                {
                    if (finished)
                        return seen;
                    await Task.Delay(1, cancellationToken);
                }
            }
        }, cancellationToken);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
            await store.DisposeAsync();
    }

    [SkippableFact]
    public async Task appended_events_read_back_forwards_and_backwards_with_their_metadata()
    {
        var stream = NewStream("cart");
        var metadata = new EventMetadata("corr-1", "cmd-7", "user-3", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k=v");
        var events = Items(5).Select(e => e with { Metadata = metadata }).ToArray();

        var result = await Store.AppendAsync(stream, "cart", ExpectedVersion.NoStream, events);

        Assert.Equal(new AppendResult(stream, 5, 5), result);
        var forwards = await Store.ReadStreamAsync(stream).ToListAsync();
        Assert.Equal([1L, 2, 3, 4, 5], forwards.Select(e => e.StreamVersion));
        Assert.Equal(events.Select(e => e.EventId), forwards.Select(e => e.EventId));
        Assert.Equal(events.Select(e => e.Event), forwards.Select(e => e.Event));
        Assert.All(forwards, e => Assert.Equal(metadata, e.Metadata));
        Assert.All(forwards, e => Assert.Equal(("cart.item-added", 2, "cart"), (e.TypeName, e.SchemaVersion, e.StreamType)));
        Assert.True(forwards.Zip(forwards.Skip(1)).All(p => p.First.GlobalPosition < p.Second.GlobalPosition));

        var fromThree = await Store.ReadStreamAsync(stream, 3, maxCount: 2).ToListAsync();
        Assert.Equal([3L, 4], fromThree.Select(e => e.StreamVersion));
        var backwards = await Store.ReadStreamAsync(stream, long.MaxValue, ReadDirection.Backwards, maxCount: 3).ToListAsync();
        Assert.Equal([5L, 4, 3], backwards.Select(e => e.StreamVersion));
        Assert.Equal(5, await Store.GetStreamVersionAsync(stream));
    }

    [SkippableFact]
    public async Task append_with_stale_expected_version_is_rejected_with_expected_and_actual_versions()
    {
        var stream = NewStream("cart");
        await Store.AppendAsync(stream, "cart", ExpectedVersion.NoStream, Items(3));

        var stale = await Assert.ThrowsAsync<ConcurrencyException>(() =>
            Store.AppendAsync(stream, "cart", ExpectedVersion.Exactly(2), Items(1)));
        Assert.Equal((stream, ExpectedVersion.Exactly(2), 3L), (stale.StreamId, stale.Expected, stale.ActualVersion));

        var exists = await Assert.ThrowsAsync<ConcurrencyException>(() =>
            Store.AppendAsync(stream, "cart", ExpectedVersion.NoStream, Items(1)));
        Assert.Equal(3, exists.ActualVersion);

        var ahead = await Assert.ThrowsAsync<ConcurrencyException>(() =>
            Store.AppendAsync(NewStream("cart"), "cart", ExpectedVersion.Exactly(4), Items(1)));
        Assert.Equal(0, ahead.ActualVersion);

        var any = await Store.AppendAsync(stream, "cart", ExpectedVersion.Any, Items(2));
        Assert.Equal(5, any.NextExpectedVersion);
        Assert.Equal(5, (await Store.ReadStreamAsync(stream).ToListAsync()).Count);
    }

    [SkippableFact]
    public async Task eight_concurrent_writers_write_every_version_once_and_the_losers_get_the_concurrency_error()
    {
        const int perStream = 40;
        var streams = Enumerable.Range(0, 4).Select(_ => NewStream("contended")).ToArray();
        var written = new ConcurrentDictionary<Guid, string>();
        var conflicts = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            var random = new Random(writer);
            while (true)
            {
                var open = new List<string>();
                foreach (var s in streams)
                    if (await Store.GetStreamVersionAsync(s) < perStream)
                        open.Add(s);
                if (open.Count == 0)
                    return;
                var stream = open[random.Next(open.Count)];
                var version = await Store.GetStreamVersionAsync(stream);
                if (version >= perStream)
                    continue;
                var data = EventData.Create(new CounterIncremented(writer));
                // The work a command handler does between loading and saving: the window for a race.
                await Task.Delay(random.Next(0, 2));
                try
                {
                    var result = await Store.AppendAsync(stream, "counter", ExpectedVersion.Exactly(version), [data]);
                    Assert.Equal(version + 1, result.NextExpectedVersion);
                    Assert.True(written.TryAdd(data.EventId, stream));
                }
                catch (ConcurrencyException conflict)
                {
                    Interlocked.Increment(ref conflicts);
                    Assert.Equal(ExpectedVersion.Exactly(version), conflict.Expected);
                    Assert.True(conflict.ActualVersion > version, $"actual {conflict.ActualVersion} <= expected {version}");
                }
            }
        })));

        Assert.True(conflicts > 0, "8 writers on 4 streams never collided: the test did not exercise concurrency");
        foreach (var stream in streams)
        {
            var events = await Store.ReadStreamAsync(stream).ToListAsync();
            Assert.Equal(Enumerable.Range(1, perStream).Select(v => (long)v), events.Select(e => e.StreamVersion));
            Assert.All(events, e => Assert.Equal(stream, written[e.EventId]));
        }
        Assert.Equal(streams.Length * perStream, written.Count);
    }

    [SkippableFact]
    public async Task a_tailing_reader_sees_late_commits_exactly_once_in_position_order_and_never_rolled_back_ones()
    {
        const int writers = 8;
        var perWriter = LateCommitEventsPerWriter;
        var start = await Store.GetHeadPositionAsync();
        var committed = new ConcurrentDictionary<Guid, byte>();
        var rolledBack = new ConcurrentDictionary<Guid, byte>();
        var writersDone = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var reader = TailAsync(start, 1000, () => Volatile.Read(ref writersDone) == 1, timeout.Token);

        await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
        {
            var random = new Random(1000 + writer);
            var stored = 0;
            while (stored < perWriter)
            {
                var count = Math.Min(random.Next(1, 60), perWriter - stored);
                var events = Enumerable.Range(0, count).Select(i => EventData.Create(new CounterIncremented(i))).ToArray();
                await using var transaction = await Store.BeginTransactionAsync(timeout.Token);
                await transaction.AppendAsync($"late-{writer}-{random.Next(16)}", "counter", ExpectedVersion.Any, events, timeout.Token);
                // Positions are drawn; holding the transaction open lets later positions commit first.
                await Task.Delay(random.Next(0, 3), timeout.Token);
                if (random.Next(10) == 0)
                {
                    await transaction.RollbackAsync(timeout.Token);
                    foreach (var e in events) rolledBack.TryAdd(e.EventId, 0);
                }
                else
                {
                    await transaction.CommitAsync(timeout.Token);
                    foreach (var e in events) committed.TryAdd(e.EventId, 0);
                    stored += count;
                }
            }
        })));
        Volatile.Write(ref writersDone, 1);
        var seen = await reader;

        Assert.Equal(writers * perWriter, committed.Count);
        Assert.NotEmpty(rolledBack);
        Assert.Equal(seen.Count, seen.Select(e => e.EventId).Distinct().Count());
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.GlobalPosition < p.Second.GlobalPosition), "positions out of order");
        Assert.DoesNotContain(seen, e => rolledBack.ContainsKey(e.EventId));
        Assert.Equal(committed.Count, seen.Count);
        Assert.All(seen, e => Assert.True(committed.ContainsKey(e.EventId)));
    }

    [SkippableFact]
    public async Task a_multi_stream_append_stores_all_streams_or_none()
    {
        var first = NewStream("order");
        var second = NewStream("stock");
        await Store.AppendAsync(second, "stock", ExpectedVersion.NoStream, Items(2));

        await Assert.ThrowsAsync<ConcurrencyException>(() => Store.AppendAsync(
        [
            new StreamAppend(first, "order", ExpectedVersion.NoStream, Items(3)),
            new StreamAppend(second, "stock", ExpectedVersion.Exactly(1), Items(1)),
        ]));
        Assert.Equal(0, await Store.GetStreamVersionAsync(first));
        Assert.Equal(2, await Store.GetStreamVersionAsync(second));

        var results = await Store.AppendAsync(
        [
            new StreamAppend(first, "order", ExpectedVersion.NoStream, Items(3)),
            new StreamAppend(second, "stock", ExpectedVersion.Exactly(2), Items(1)),
        ]);
        Assert.Equal([3L, 3L], results.Select(r => r.NextExpectedVersion));
    }

    [SkippableFact]
    public async Task the_same_event_id_is_never_stored_twice()
    {
        var stream = NewStream("cart");
        var events = Items(3);
        await Store.AppendAsync(stream, "cart", ExpectedVersion.NoStream, events);

        // A retry after a lost acknowledgement: same events, same stream, expected Any.
        var retry = await Store.AppendAsync(stream, "cart", ExpectedVersion.Any, events);
        Assert.Equal(new AppendResult(stream, 3, 0), retry);

        var other = NewStream("cart");
        await Assert.ThrowsAsync<DuplicateEventException>(() =>
            Store.AppendAsync(other, "cart", ExpectedVersion.Any, [events[1]]));
        await Assert.ThrowsAsync<DuplicateEventException>(() =>
            Store.AppendAsync(stream, "cart", ExpectedVersion.Any, [EventData.Create(new ItemAdded("new", 1)), events[0]]));

        await using var context = Store.CreateDbContext();
        var ids = events.Select(e => e.EventId).ToArray();
        Assert.Equal(3, await context.Events.CountAsync(e => ids.Contains(e.EventId)));
        Assert.Equal(3, await Store.GetStreamVersionAsync(stream));
        Assert.Equal(0, await Store.GetStreamVersionAsync(other));
    }

    [SkippableFact]
    public async Task events_of_a_type_are_read_since_a_time()
    {
        var stream = NewStream("mixed");
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await Store.AppendAsync(stream, "mixed", ExpectedVersion.NoStream,
            [EventData.Create(new CounterIncremented(1)), EventData.Create(new ItemAdded("a", 1)), EventData.Create(new CounterIncremented(2))]);

        var counters = await Store.ReadByTypeAsync("counter.incremented", before).Where(e => e.StreamId == stream).ToListAsync();
        Assert.Equal([1L, 3L], counters.Select(e => e.StreamVersion));
        var none = await Store.ReadByTypeAsync("counter.incremented", DateTimeOffset.UtcNow.AddMinutes(1)).ToListAsync();
        Assert.Empty(none);
    }
}
