using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Every field type and collection the language has, in an aggregate, its events (with a computed
/// upcast), a projection (list add and remove, counts, sums, metadata) and a reaction: it compiles,
/// and the projection's rows hold what the events say on the hosted runtime.
/// </summary>
public class FeatureTorture
{
    const string Aggregate = """
        aggregate: Ledger
        namespace: Shop.Features
        id: { name: ledgerId, type: guid }
        snapshot: { every: 5 }
        types:
          Line: { sku: string, quantity: int, price: decimal, note: string? }
          Tier: { enum: [Bronze, Silver, Gold] }
          Link: { ledger: guid, note: string? }
        state:
          owner: string
          tier: Tier
          lines: list<Line>
          totals: map<string, decimal>
          tags: list<string>
          score: double
          big: long
          active: bool
          opened: date?
          lastAt: timestamp?
          reference: guid?
          kind: { enum: [Open, Closed] }
          count: int
        commands:
          OpenLedger:
            creates: true
            fields: { owner: { type: string, nonEmpty: true, maxLength: 40 }, tier: Tier, lines: list<Line>, totals: "map<string, decimal>", tags: list<string>, score: double, big: long, active: bool, opened: date?, reference: guid? }
            emits:
              LedgerOpened: { total: sum($lines.price * $lines.quantity), lineCount: count($lines) }
          CloseLedger:
            when: { kind: [Open] }
            emits: LedgerClosed
          ReleaseLedger:
            fields: { owner: string }
            when: { kind: [Open] }
            emits: LedgerReleased
          DropLine:
            fields: { owner: string, sku: string }
            emits: LineDropped
          LinkLedgers:
            fields: { owner: string, refs: list<Link> }
            emits: LedgersLinked
        events:
          LedgerOpened:
            type: shop.features.ledger-opened
            version: 2
            fields: { owner: string, tier: Tier, lines: list<Line>, totals: "map<string, decimal>", tags: list<string>, score: double, big: long, active: bool, opened: date?, reference: guid?, total: decimal, lineCount: int }
            apply: { owner: $owner, tier: $tier, lines: $lines, totals: $totals, tags: $tags, score: $score, big: $big, active: $active, opened: $opened, reference: $reference, lastAt: $meta.timestamp, kind: Open, count: { increment: 1 } }
            previous:
              - version: 1
                fields: { owner: string, tier: Tier, lines: list<Line>, totals: "map<string, decimal>", tags: list<string>, score: double, big: long, active: bool, opened: date?, reference: guid?, total: decimal }
                upcast:
                  lineCount: { compute: count($lines) }
          LedgerClosed:
            type: shop.features.ledger-closed
            apply: { kind: Closed, active: false, lastAt: $meta.timestamp, count: { increment: -1 } }
          LedgerReleased:
            type: shop.features.ledger-released
            fields: { owner: string }
            apply: { kind: Closed, tags: { remove: $owner } }
          LineDropped:
            type: shop.features.line-dropped
            fields: { owner: string, sku: string }
            apply: { lines: { remove: $sku, by: sku } }
          LedgersLinked:
            type: shop.features.ledgers-linked
            fields: { owner: string, refs: list<Link> }
            apply: { count: { increment: 0 } }
        """;

    const string Projection = """
        projection: LedgerBook
        namespace: Shop.Features
        key: { name: owner, type: string }
        fields: { ledgers: list<guid>, entries: list<Line>, totals: "map<string, decimal>", firstLine: Line?, refs: list<Link>, lineCount: int, total: decimal, lastTier: Tier?, lastAt: timestamp, lastEvent: guid, lastPosition: long, users: list<string> }
        on:
          LedgerOpened:
            action: upsert
            key: $owner
            set:
              ledgers: { add: $meta.aggregateId }
              users: { add: $owner }
              entries: $lines
              totals: $totals
              lineCount: { increment: $lineCount }
              total: { increment: $total }
              lastTier: $tier
              lastAt: $meta.timestamp
              lastEvent: $meta.eventId
              lastPosition: $meta.version
          LedgerReleased:
            action: update
            key: $owner
            set:
              ledgers: { remove: $meta.aggregateId }
              refs: { remove: $meta.aggregateId, by: ledger }
              lastPosition: $meta.version
          LineDropped:
            action: update
            key: $owner
            set: { entries: { remove: $sku, by: sku } }
          LedgersLinked:
            action: update
            key: $owner
            set: { refs: $refs }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("features/ledger.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("features/ledger-book.yaml", Projection));

    [Fact]
    public void every_type_and_update_the_language_has_compiles() =>
        GeneratorHarness.Compiles(Texts, GeneratorHarness.CreateCompilation("Shop.Features"));

    // The service side of the run: host the runtime with the generated domain, send the commands,
    // read the LedgerBook rows back through ReadModels (EF Core on the generated row type).
    const string Service = """
        using Microsoft.EntityFrameworkCore;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Projections;
        using Platform.Torture;

        namespace Shop.Features.Run;

        public static class LedgerRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid[] ledgers)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(FeaturesDomain)), async services =>
                {
                    var dispatcher = services.GetRequiredService<ICommandDispatcher>();
                    Line[] lines = [new("a", 2, 1.5m, null), new("b", 1, 10m, "gift")];
                    var totals = new Dictionary<string, decimal> { ["a"] = 3m, ["b"] = 10m };
                    for (var i = 0; i < ledgers.Length; i++)
                        await dispatcher.DispatchAsync(new OpenLedger(ledgers[i], i < 3 ? "ada" : "bob", i == 1 ? Tier.Silver : Tier.Gold,
                            lines[..(1 + i % 2)], totals, ["t"], 1.5, 7L, true, new DateOnly(2026, 1, 2), null));
                    await dispatcher.DispatchAsync(new LinkLedgers(ledgers[0], "ada", [new Link(ledgers[1], "x"), new Link(ledgers[2], null)]));
                    await dispatcher.DispatchAsync(new DropLine(ledgers[3], "bob", "a"));
                    var last = await dispatcher.DispatchAsync(new ReleaseLedger(ledgers[1], "ada"));
                    await Hosted.CaughtUpAsync(services, last.Position, LedgerBookProjection.ProjectionName);
                    async Task<List<string>> Rows()
                    {
                        await using var rows = await services.GetRequiredService<ReadModels>().OpenAsync(LedgerBookProjection.ProjectionName);
                        return (await rows.Set<LedgerBook>().ToListAsync())
                        .OrderBy(r => r.Owner, StringComparer.Ordinal)
                        .Select(r => $"{r.Owner}: ledgers {string.Join(" ", r.Ledgers.Select(l => Array.IndexOf(ledgers, l)))}; " +
                                     $"users {string.Join(" ", r.Users)}; lines {r.LineCount}; total {r.Total:0.00}; tier {r.LastTier}; " +
                                     $"entries {string.Join(" ", r.Entries.Select(e => $"{e.Sku}x{e.Quantity}:{e.Note}"))}; " +
                                     $"totals {string.Join(" ", r.Totals.Select(t => $"{t.Key}={t.Value}"))}; first {r.FirstLine?.Sku ?? "none"}; " +
                                     $"refs {string.Join(" ", r.Refs.Select(x => Array.IndexOf(ledgers, x.Ledger)))}")
                        .ToList();
                    }
                    // On PostgreSQL the JSON columns are jsonb, which SQL can reach into.
                    async Task<List<string>> Json()
                    {
                        if (!postgres) return [];
                        await using var rows = await services.GetRequiredService<ReadModels>().OpenAsync(LedgerBookProjection.ProjectionName);
                        var types = await rows.Database.SqlQueryRaw<string>(
                            "SELECT column_name || '=' || data_type AS \"Value\" FROM information_schema.columns " +
                            "WHERE table_name = 'ledger_book' AND column_name IN ('entries', 'totals', 'first_line', 'refs') ORDER BY column_name").ToListAsync();
                        var b = await rows.Database.SqlQueryRaw<string>(
                            "SELECT (totals ->> 'b') || ' ' || (entries -> 0 ->> 'sku') AS \"Value\" FROM ledger_book ORDER BY owner").ToListAsync();
                        return ["columns " + string.Join(" ", types), "totals b, first entry " + string.Join(", ", b)];
                    }
                    // A rebuild reads every event in one batch: the same rows.
                    var live = await Rows();
                    var liveJson = await Json();
                    await services.GetRequiredService<ProjectionEngine>().RebuildAsync(LedgerBookProjection.ProjectionName);
                    var rebuilt = await Rows();
                    return [.. live, .. liveJson, .. rebuilt.Select(r => "rebuilt " + r), .. (await Json()).Select(r => "rebuilt " + r)];
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task the_projections_list_columns_sums_and_metadata_hold_what_the_events_say(Store store)
    {
        // ada opened ledgers 0, 1 and 2 (one line, two lines, one line) and released 1: removed by
        // its stream id from a list of guids; the sums and the last tier stay as the opens left them.
        // ada linked 1 and 2, and releasing 1 removed the link whose ledger member is that stream id.
        // bob dropped line a: removed by the element's sku. A list of value types, a map and an
        // optional value type are JSON columns, jsonb on PostgreSQL.
        string[] expected =
            [
                "ada: ledgers 0 2; users ada ada ada; lines 4; total 19.00; tier Gold; entries ax2:; totals a=3 b=10; first none; refs 2",
                "bob: ledgers 3; users bob; lines 2; total 13.00; tier Gold; entries bx1:gift; totals a=3 b=10; first none; refs ",
            ];
        string[] json = store == Store.Postgres ? ["columns entries=jsonb first_line=jsonb refs=jsonb totals=jsonb", "totals b, first entry 10 a, 10 b"] : [];
        Guid[] ledgers = [Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()];
        return GuideExamples.AssertRunAsync(store, "Shop.Features", Texts, Service, "Shop.Features.Run.LedgerRun",
            [.. expected, .. json, .. expected.Select(r => "rebuilt " + r), .. json.Select(r => "rebuilt " + r)], [ledgers]);
    }

    // A ledger past its snapshot (every 5 events): one runtime writes seven events, another loads the
    // ledger from the snapshot and the two after it, and replays all seven from the stream.
    const string Snapshots = """
        using System.Text.Json;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Torture;

        namespace Shop.Features.Run;

        public static class LedgerSnapshots
        {
            static IHost Host(bool postgres, string connectionString) =>
                Hosted.Build(postgres, connectionString, typeof(FeaturesDomain), cfg => cfg.Projections.Enabled = false);

            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid id, Guid other)
            {
                await Hosted.RunAsync(Host(postgres, connectionString), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    Line[] lines = [new("a", 2, 1.5m, null), new("b", 1, 10m, "gift"), new("c", 3, 0.25m, null)];
                    await commands.DispatchAsync(new OpenLedger(id, "ada", Tier.Silver, lines, new Dictionary<string, decimal> { ["a"] = 3m, ["z"] = -0.5m },
                        ["ada", "t"], 1.5e-3, long.MaxValue, true, new DateOnly(2026, 1, 2), other));
                    await commands.DispatchAsync(new LinkLedgers(id, "ada", [new Link(other, "x")]));
                    await commands.DispatchAsync(new DropLine(id, "ada", "a"));
                    await commands.DispatchAsync(new LinkLedgers(id, "ada", []));
                    await commands.DispatchAsync(new DropLine(id, "ada", "c"));
                    await commands.DispatchAsync(new LinkLedgers(id, "ada", [new Link(id, null)]));
                    await commands.DispatchAsync(new ReleaseLedger(id, "ada"));
                });
                return await Hosted.RunAsync<IReadOnlyList<string>>(Host(postgres, connectionString), async services =>
                {
                    var definition = new Ledger();
                    var loaded = await services.GetRequiredService<IAggregateStore>().LoadAsync(definition, id.ToString("D"));
                    var replayed = definition.CreateEmpty();
                    var version = 0L;
                    await foreach (var envelope in services.GetRequiredService<IEventStore>().ReadStreamAsync(id.ToString("D")))
                    {
                        replayed = definition.Apply(replayed, envelope);
                        version = envelope.StreamVersion;
                    }
                    return
                    [
                        $"loaded at version {loaded.Version} from the snapshot at {loaded.SnapshotVersion}; replayed to {version}",
                        JsonSerializer.Serialize(loaded.State),
                        JsonSerializer.Serialize(replayed),
                    ];
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_ledger_loaded_from_its_snapshot_equals_its_replay(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "features");

        var other = Guid.NewGuid();
        var lines = await GuideExamples.RunAsync("Shop.Features", Texts, Snapshots, "Shop.Features.Run.LedgerSnapshots", store == Store.Postgres, database.ConnectionString, Guid.NewGuid(), other);

        Assert.Equal("loaded at version 7 from the snapshot at 5; replayed to 7", lines[0]);
        Assert.Equal(lines[2], lines[1]);
        // Every type the state has, through the snapshot's codec: lines a and c dropped, the owner's
        // tag removed, the ledger closed; lastAt is the last apply's $meta.timestamp.
        Assert.Equal(
            """{"Owner":"ada","Tier":1,"Lines":[{"Sku":"b","Quantity":1,"Price":10,"Note":"gift"}],"Totals":{"a":3,"z":-0.5},"Tags":["t"],"Score":0.0015,"Big":9223372036854775807,"Active":true,"Opened":"2026-01-02","LastAt":"(time)","Reference":"(other)","Kind":1,"Count":1}""",
            System.Text.RegularExpressions.Regex.Replace(lines[1], "\"LastAt\":\"[^\"]+\"", "\"LastAt\":\"(time)\"").Replace(other.ToString("D"), "(other)"));
    }
}
