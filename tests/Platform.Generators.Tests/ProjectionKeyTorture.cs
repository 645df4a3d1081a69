using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Projections keyed every way the language allows (a long aggregate id, an int and a string event
/// field, the stream id as text), with every action (insert, update, upsert, delete, and insert again
/// after a delete) and handlers that take only the events their conditions pass, on the hosted
/// runtime: the rows hold what the events say.
/// </summary>
public class ProjectionKeyTorture
{
    const string Aggregate = """
        aggregate: Shelf
        namespace: Shop.Shelves
        id: { name: shelfId, type: long }
        state: { label: string, at: int, open: bool }
        commands:
          OpenShelf:
            creates: true
            fields: { label: string, zone: int }
            emits: ShelfOpened
          MoveShelf:
            fields: { from: int, zone: int }
            when: { open: true }
            emits: ShelfMoved
          CloseShelf:
            fields: { label: string }
            when: { open: true }
            emits: ShelfClosed
          ReopenShelf:
            fields: { label: string, zone: int }
            when: { open: false }
            emits: ShelfReopened
        events:
          ShelfOpened:
            type: shop.shelves.opened
            fields: { label: string, zone: int }
            apply: { label: $label, at: $zone, open: true }
          ShelfMoved:
            type: shop.shelves.moved
            fields: { from: int, zone: int }
            apply: { at: $zone }
          ShelfClosed:
            type: shop.shelves.closed
            fields: { label: string }
            apply: { open: false }
          ShelfReopened:
            type: shop.shelves.reopened
            fields: { label: string, zone: int }
            apply: { open: true }
        """;

    const string Views = """
        projection: ShelfView
        namespace: Shop.Shelves
        aggregate: Shelf
        key: { name: shelfId, type: long }
        fields: { label: string, zone: int, moves: int, note: string?, trail: list<int>? }
        on:
          ShelfOpened: { action: insert, set: { label: $label, zone: $zone, note: opened } }
          ShelfMoved: { action: update, set: { zone: $zone, moves: { increment: 1 }, note: null, trail: { add: $zone } } }
          ShelfClosed: { action: delete }
          ShelfReopened: { action: insert, set: { label: $label, zone: $zone, note: reopened } }
        """;

    const string Zones = """
        projection: ZoneArrivals
        namespace: Shop.Shelves
        key: { name: zone, type: int }
        fields: { arrivals: int, lastShelf: long, lastStream: string, shelves: list<long> }
        on:
          ShelfOpened: { action: upsert, key: $zone, set: { arrivals: { increment: 1 }, lastShelf: $shelfId, lastStream: $meta.aggregateId, shelves: { add: $shelfId } } }
          ShelfMoved: { action: upsert, key: $zone, where: { from: 2, zone: { gt: $from } }, set: { arrivals: { increment: 1 }, lastShelf: $meta.aggregateId, lastStream: $meta.aggregateId, shelves: { add: $meta.aggregateId } } }
        """;

    const string Labels = """
        projection: ShelfByLabel
        namespace: Shop.Shelves
        key: { name: label, type: string }
        fields: { shelf: long, stream: string, version: long }
        on:
          ShelfOpened: { action: insert, key: $label, set: { shelf: $shelfId, stream: $meta.aggregateId, version: $meta.version } }
          ShelfClosed: { action: delete, key: $label }
        """;

    // Keyed by the stream id as text, though the aggregate's id is a long.
    const string Streams = """
        projection: ShelfByStream
        namespace: Shop.Shelves
        key: { name: stream, type: string }
        fields: { label: string, moves: int, budget: int, visited: list<int>? }
        on:
          ShelfOpened: { action: insert, key: $meta.aggregateId, set: { label: $label, budget: 100 } }
          ShelfMoved: { action: update, key: $meta.aggregateId, where: { zone: { ge: 3 } }, set: { moves: { increment: 1 }, budget: { decrement: $zone }, visited: { remove: $from } } }
        """;

    // Keyed by two event fields: a composite key.
    const string ZoneLabels = """
        projection: ZoneLabel
        namespace: Shop.Shelves
        key: [{ name: zone, type: int }, { name: label, type: string }]
        fields: { opened: int, reopened: int?, lastShelf: long }
        on:
          ShelfOpened: { action: upsert, key: [$zone, $label], set: { opened: { increment: 1 }, lastShelf: $shelfId } }
          ShelfReopened: { action: upsert, key: [$zone, $label], set: { opened: { increment: 1 }, reopened: { increment: 1 }, lastShelf: $meta.aggregateId } }
          ShelfClosed: { action: delete, key: [2, $label] }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("shelves/zone-labels.yaml", ZoneLabels),
        new GeneratorHarness.InMemoryText("shelves/shelf.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("shelves/shelf-view.yaml", Views),
        new GeneratorHarness.InMemoryText("shelves/zone-arrivals.yaml", Zones),
        new GeneratorHarness.InMemoryText("shelves/shelf-by-label.yaml", Labels),
        new GeneratorHarness.InMemoryText("shelves/shelf-by-stream.yaml", Streams));

    const string Service = """
        using System.Globalization;
        using Microsoft.EntityFrameworkCore;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Projections;

        using Platform.Torture;

        namespace Shop.Shelves.Run;

        public static class ShelfRun
        {
            static IHost Host(bool postgres, string connectionString, bool projections) =>
                Hosted.Build(postgres, connectionString, typeof(ShelvesDomain), cfg => cfg.Projections.Enabled = projections);

            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, long first)
            {
                long a = first, b = first + 1, c = first + 2;
                string[] names = [ShelfViewProjection.ProjectionName, ZoneArrivalsProjection.ProjectionName, ShelfByLabelProjection.ProjectionName, ShelfByStreamProjection.ProjectionName, ZoneLabelProjection.ProjectionName];
                // The shelves are opened and their rows written first; the moves, closes and the reopen
                // are stored while no projection runs, so one batch then takes them all: c's row, in the
                // table, deleted and inserted again in one unit of work.
                await Hosted.RunAsync(Host(postgres, connectionString, projections: true), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    await commands.DispatchAsync(new OpenShelf(a, "apples", 1));
                    await commands.DispatchAsync(new OpenShelf(b, "bread", 1));
                    var opened = await commands.DispatchAsync(new OpenShelf(c, "cheese", 2));
                    await Hosted.CaughtUpAsync(services, opened.Position, names);
                });
                await Hosted.RunAsync(Host(postgres, connectionString, projections: false), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    await commands.DispatchAsync(new MoveShelf(a, 1, 2));
                    await commands.DispatchAsync(new MoveShelf(a, 2, 3));
                    await commands.DispatchAsync(new CloseShelf(b, "bread"));
                    await commands.DispatchAsync(new CloseShelf(c, "cheese"));
                    await commands.DispatchAsync(new ReopenShelf(c, "cheese", 2));
                });
                return await Hosted.RunAsync<IReadOnlyList<string>>(Host(postgres, connectionString, projections: true), async services =>
                {
                    await Hosted.CaughtUpAsync(services, await services.GetRequiredService<IEventStore>().GetHeadPositionAsync(), names);
                    var models = services.GetRequiredService<ReadModels>();
                    string Shelf(long id) => id == a ? "a" : id == b ? "b" : id == c ? "c" : id.ToString(CultureInfo.InvariantCulture);
                    string Stream(string id) => long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? Shelf(n) : "?" + id;
                    async Task<List<string>> Rows()
                    {
                        var lines = new List<string>();
                        await using (var rows = await models.OpenAsync(ShelfViewProjection.ProjectionName))
                            lines.AddRange((await rows.Set<ShelfView>().ToListAsync()).OrderBy(r => r.ShelfId)
                                .Select(r => $"view {Shelf(r.ShelfId)}: {r.Label} zone {r.Zone} moves {r.Moves} note {r.Note ?? "-"} trail {(r.Trail is null ? "none" : string.Join(" ", r.Trail))}"));
                        await using (var rows = await models.OpenAsync(ZoneArrivalsProjection.ProjectionName))
                            lines.AddRange((await rows.Set<ZoneArrivals>().ToListAsync()).OrderBy(r => r.Zone)
                                .Select(r => $"zone {r.Zone}: {r.Arrivals} last {Shelf(r.LastShelf)} stream {Stream(r.LastStream)} shelves {string.Join(" ", r.Shelves.Select(Shelf))}"));
                        await using (var rows = await models.OpenAsync(ShelfByLabelProjection.ProjectionName))
                            lines.AddRange((await rows.Set<ShelfByLabel>().ToListAsync()).OrderBy(r => r.Label, StringComparer.Ordinal)
                                .Select(r => $"label {r.Label}: {Shelf(r.Shelf)} stream {Stream(r.Stream)} v{r.Version}"));
                        await using (var rows = await models.OpenAsync(ShelfByStreamProjection.ProjectionName))
                            lines.AddRange((await rows.Set<ShelfByStream>().ToListAsync()).OrderBy(r => r.Stream, StringComparer.Ordinal)
                                .Select(r => $"stream {Stream(r.Stream)}: {r.Label} moves {r.Moves} budget {r.Budget} visited {(r.Visited is null ? "none" : string.Join(" ", r.Visited))}"));
                        await using (var rows = await models.OpenAsync(ZoneLabelProjection.ProjectionName))
                            lines.AddRange((await rows.Set<ZoneLabel>().ToListAsync()).OrderBy(r => r.Zone).ThenBy(r => r.Label, StringComparer.Ordinal)
                                .Select(r => $"zone {r.Zone} label {r.Label}: opened {r.Opened} reopened {r.Reopened?.ToString() ?? "none"} last {Shelf(r.LastShelf)}"));
                        return lines;
                    }
                    // A rebuild reads the same events in batches of hundreds: c's delete and insert in one.
                    var live = await Rows();
                    var engine = services.GetRequiredService<ProjectionEngine>();
                    foreach (var name in names)
                        await engine.RebuildAsync(name);
                    var rebuilt = await Rows();
                    return [.. live, "rebuilt:", .. rebuilt];
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task the_rows_are_keyed_and_kept_as_the_handlers_say(Store store)
    {
        // a: opened in zone 1, moved to 2 and 3; b: opened in 1 and closed; c: opened in 2, closed
        // (its view row deleted) and reopened (inserted again). ZoneArrivals counts only a move from
        // zone 2 to a higher one (a's second), ShelfByStream only moves into zone 3 or higher (a's
        // second, which takes its zone from the budget). ZoneLabel is keyed by zone and label: closing
        // deletes the row of zone 2 and the label (bread's, in zone 1, stays; cheese's goes), and the
        // reopen inserts cheese's again. A rebuild gives the same rows.
        string[] expected =
            [
                "view a: apples zone 3 moves 2 note - trail 2 3",
                "view c: cheese zone 2 moves 0 note reopened trail none",
                "zone 1: 2 last b stream b shelves a b",
                "zone 2: 1 last c stream c shelves c",
                "zone 3: 1 last a stream a shelves a",
                "label apples: a stream a v1",
                "stream a: apples moves 1 budget 97 visited none",
                "stream b: bread moves 0 budget 100 visited none",
                "stream c: cheese moves 0 budget 100 visited none",
                "zone 1 label apples: opened 1 reopened none last a",
                "zone 1 label bread: opened 1 reopened none last b",
                "zone 2 label cheese: opened 1 reopened 1 last c",
            ];
        return GuideExamples.AssertRunAsync(store, "Shop.Shelves", Texts, Service, "Shop.Shelves.Run.ShelfRun", [.. expected, "rebuilt:", .. expected], 9_000_000_000L);
    }
}
