using System.Collections.Concurrent;
using Npgsql;
using Platform.Events;
using Platform.Persistence;
using Platform.Testing;
using Xunit;

namespace Platform.EventStore.Tests;

/// <summary>
/// The store's whole behaviour again on PostgreSQL with one append at a time
/// (<c>ConcurrentAppends = 1</c>), so that every append meeting another goes to the database in a
/// group; and what only groups can get wrong: answers crossing between callers, a conflict failing
/// its neighbours, positions a tailing reader could skip.
/// </summary>
public sealed class PostgresGroupedAppendTests(GroupedAppendsPostgresFixture fixture)
    : EventStoreBehaviour, IClassFixture<GroupedAppendsPostgresFixture>
{
    protected override IStoreFixture Fixture => fixture;

    protected override int LateCommitEventsPerWriter => 2_000;

    /// <summary>How many transactions wrote the events of these streams (events of one group share one).</summary>
    async Task<long> TransactionsAsync(IEnumerable<string> streams)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(DISTINCT xmin::text) FROM events WHERE stream_id = ANY(@streams)", connection);
        count.Parameters.AddWithValue("streams", streams.ToArray());
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [SkippableFact]
    public async Task appends_that_wait_for_their_turn_go_together_and_each_caller_gets_its_own_answer()
    {
        var existing = Enumerable.Range(0, 40).Select(_ => NewStream("existing")).ToArray();
        foreach (var stream in existing)
            await Store.AppendAsync(stream, "cart", ExpectedVersion.NoStream, Items(1));
        var fresh = Enumerable.Range(0, 60).Select(_ => NewStream("fresh")).ToArray();

        // 60 new streams, 20 appends that match their stream's version, 20 that do not, all at once.
        var appends = fresh.Select((s, i) => (Stream: s, Expected: ExpectedVersion.NoStream, Events: Items(1 + i % 3, s)))
            .Concat(existing.Take(20).Select(s => (Stream: s, Expected: ExpectedVersion.Exactly(1), Events: Items(2, s))))
            .Concat(existing.Skip(20).Select(s => (Stream: s, Expected: ExpectedVersion.Exactly(5), Events: Items(1, s))))
            .ToArray();
        var answers = await Task.WhenAll(appends.Select(a => Task.Run(async () =>
        {
            try
            {
                return (object)await Store.AppendAsync(a.Stream, "cart", a.Expected, a.Events);
            }
            catch (ConcurrencyException conflict)
            {
                return conflict;
            }
        })));

        for (var i = 0; i < appends.Length; i++)
        {
            var (stream, expected, events) = appends[i];
            if (expected == ExpectedVersion.Exactly(5))
            {
                var conflict = Assert.IsType<ConcurrencyException>(answers[i]);
                Assert.Equal((stream, 1L), (conflict.StreamId, conflict.ActualVersion));
                continue;
            }
            var before = expected.Value;
            Assert.Equal(new AppendResult(stream, before + events.Length, events.Length), answers[i]);
            var stored = await Store.ReadStreamAsync(stream).ToListAsync();
            Assert.Equal(Enumerable.Range(1, (int)before + events.Length).Select(v => (long)v), stored.Select(e => e.StreamVersion));
            Assert.Equal(events.Select(e => e.EventId), stored.Skip((int)before).Select(e => e.EventId));
            Assert.True(stored.Zip(stored.Skip(1)).All(p => p.First.GlobalPosition < p.Second.GlobalPosition));
        }
        foreach (var stream in existing.Skip(20))
            Assert.Equal(1, await Store.GetStreamVersionAsync(stream));

        // Fewer transactions than appends: they went in groups (one caller ran alone, the others queued).
        Assert.InRange(await TransactionsAsync(fresh), 1, fresh.Length - 10);
    }

    [SkippableFact]
    public async Task an_event_already_stored_fails_only_its_own_append_in_a_group()
    {
        var retried = NewStream("retried");
        var stored = Items(3, "stored");
        await Store.AppendAsync(retried, "cart", ExpectedVersion.NoStream, stored);
        var fresh = Enumerable.Range(0, 40).Select(_ => NewStream("fresh")).ToArray();
        var thief = NewStream("thief");

        // A large append takes the only slot first, so the others queue behind it and go in groups;
        // a group that meets a stored event id fails as a whole and its appends run again alone.
        var large = Store.AppendAsync(NewStream("large"), "cart", ExpectedVersion.NoStream, Items(500, "large"));
        var freshAppends = fresh.Select(s => Task.Run(() => Store.AppendAsync(s, "cart", ExpectedVersion.NoStream, Items(2, s)))).ToList();
        // A retry after a lost acknowledgement (its events are stored: success, nothing written) and
        // an append of another stream's event (refused), among the others.
        var retry = Task.Run(() => Store.AppendAsync(retried, "cart", ExpectedVersion.Any, stored));
        var duplicate = Task.Run(() => Store.AppendAsync(thief, "cart", ExpectedVersion.Any, [Items(1, "own")[0], stored[1]]));

        Assert.Equal(new AppendResult(retried, 3, 0), await retry);
        await Assert.ThrowsAsync<DuplicateEventException>(() => duplicate);
        var results = await Task.WhenAll(freshAppends);
        Assert.Equal(fresh.Select(s => new AppendResult(s, 2, 2)), results);
        Assert.Equal(0, await Store.GetStreamVersionAsync(thief));
        Assert.Equal(3, await Store.GetStreamVersionAsync(retried));
        Assert.Equal(500, (await large).NextExpectedVersion);
    }

    // PostgreSQL's jsonb takes no \u0000: such an event fails its statement. In a group it must fail
    // only its own append, not the others the statement carried.
    [SkippableFact]
    public async Task an_event_the_database_refuses_fails_only_its_own_append_in_a_group()
    {
        var large = Store.AppendAsync(NewStream("large"), "cart", ExpectedVersion.NoStream, Items(500, "large"));
        var fresh = Enumerable.Range(0, 40).Select(_ => NewStream("fresh")).ToArray();
        var freshAppends = fresh.Select(s => Task.Run(() => Store.AppendAsync(s, "cart", ExpectedVersion.NoStream, Items(2, s)))).ToList();
        var refused = NewStream("refused");
        var bad = Task.Run(() => Store.AppendAsync(refused, "cart", ExpectedVersion.NoStream, [EventData.Create(new ItemAdded("nul\0here", 1))]));

        var error = await Assert.ThrowsAsync<PostgresException>(() => bad);
        Assert.Equal(PostgresErrorCodes.UntranslatableCharacter, error.SqlState);
        Assert.Equal(fresh.Select(s => new AppendResult(s, 2, 2)), await Task.WhenAll(freshAppends));
        Assert.Equal(0, await Store.GetStreamVersionAsync(refused));
        Assert.Equal(500, (await large).NextExpectedVersion);
    }

    [SkippableFact]
    public async Task a_tailing_reader_sees_every_grouped_append_once_in_position_order()
    {
        var start = await Store.GetHeadPositionAsync();
        var written = new ConcurrentDictionary<Guid, byte>();
        var streams = new ConcurrentBag<string>();
        var writersDone = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var reader = TailAsync(start, 500, () => Volatile.Read(ref writersDone) == 1, timeout.Token);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
        {
            var random = new Random(writer);
            for (var i = 0; i < 150; i++)
            {
                var stream = $"grouped-{writer}-{i}-{Guid.NewGuid():N}";
                var events = Items(random.Next(1, 6), stream);
                await Store.AppendAsync(stream, "cart", ExpectedVersion.NoStream, events, timeout.Token);
                streams.Add(stream);
                foreach (var e in events)
                    written.TryAdd(e.EventId, 0);
            }
        })));
        Volatile.Write(ref writersDone, 1);
        var seen = await reader;

        Assert.Equal(written.Count, seen.Count);
        Assert.Equal(seen.Count, seen.Select(e => e.EventId).Distinct().Count());
        Assert.All(seen, e => Assert.True(written.ContainsKey(e.EventId)));
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.GlobalPosition < p.Second.GlobalPosition), "positions out of order");
        Assert.InRange(await TransactionsAsync(streams), 1, streams.Count - 100);
    }

    // The group statement is prepared by Npgsql like the others; PostgreSQL must settle on one
    // generic plan (arrays unnested through sub-selects, as for the claim) that finds a stream's
    // version by the stream index, never by a scan.
    [SkippableFact]
    public async Task the_group_statement_finds_versions_by_index_and_keeps_one_generic_plan()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        const string Types = "(text[], text[], bigint[], timestamptz[], int[], int[], uuid[], text[], int[], text[], text[])";
        await using (var prepare = new NpgsqlCommand($"PREPARE grouped{Types} AS " + Storage.PostgresDialect.AppendGroupSql, connection))
            await prepare.ExecuteNonQueryAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            for (var i = 0; i < 10; i++)
            {
                await using var execute = new NpgsqlCommand(
                    $"EXECUTE grouped(ARRAY['plan-{i}-a', 'plan-{i}-b'], ARRAY['cart', 'cart'], ARRAY[0, -1]::bigint[], ARRAY[now(), now()], " +
                    $"ARRAY[1, 2], ARRAY[1, 1], ARRAY[gen_random_uuid(), gen_random_uuid()], ARRAY['t', 't'], ARRAY[1, 1], ARRAY['{{}}', '{{}}'], ARRAY[NULL, NULL]::text[])",
                    connection, transaction);
                await execute.ExecuteNonQueryAsync();
            }
            await using (var explain = new NpgsqlCommand(
                "EXPLAIN EXECUTE grouped(ARRAY['x'], ARRAY['cart'], ARRAY[0::bigint], ARRAY[now()], ARRAY[1], ARRAY[1], ARRAY[gen_random_uuid()], ARRAY['t'], ARRAY[1], ARRAY['{}'], ARRAY[NULL]::text[])",
                connection, transaction))
            {
                var plan = new List<string>();
                await using var reader = await explain.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    plan.Add(reader.GetString(0));
                var text = string.Join("\n", plan);
                Assert.Contains("ix_events_stream_id_stream_version", text, StringComparison.Ordinal);
                Assert.DoesNotContain("Seq Scan on events", text, StringComparison.Ordinal);
                // The transaction takes its id before any row draws a position (the gap-free reader relies on it).
                Assert.Contains("One-Time Filter: (pg_current_xact_id() IS NOT NULL)", text, StringComparison.Ordinal);
            }
            await transaction.RollbackAsync();
        }
        await using var plans = new NpgsqlCommand("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'grouped'", connection);
        await using var counts = await plans.ExecuteReaderAsync();
        Assert.True(await counts.ReadAsync());
        Assert.Equal(5L, counts.GetInt64(1));
        Assert.True(counts.GetInt64(0) >= 5, $"{counts.GetInt64(0)} generic plans");
    }
}
