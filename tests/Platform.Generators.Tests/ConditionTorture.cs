using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Every guard the language has (<c>when:</c> on state, <c>require:</c> and field constraints on a
/// command, <c>pattern:</c> among them) on every type it applies to, optional ones too, with literals of each type: it compiles,
/// and the hosted runtime accepts and refuses exactly the commands the guards say.
/// </summary>
public class ConditionTorture
{
    const string Aggregate = """
        aggregate: Gauge
        namespace: Shop.Gauges
        id: { name: gaugeId, type: string }
        types:
          Level: { enum: [Low, Mid, High] }
          Reading: { at: timestamp, value: { type: decimal, min: 0 }, tag: { type: string, optional: true, pattern: "[a-z]+" } }
          Probe: { name: { type: string, maxLength: 5 }, reading: Reading }
        state:
          owner: string
          level: Level
          mode: { enum: [Idle, Running, Stopped] }
          count: int
          total: decimal
          ratio: double
          limit: long?
          since: date?
          last: timestamp?
          tags: list<string>
          marks: "map<string, int>"
          readings: list<Reading>
        commands:
          StartGauge:
            creates: true
            fields:
              owner: { type: string, nonEmpty: true, maxLength: 10, pattern: "[a-z]+" }
              level: Level
              limit: long?
              since: date?
              ratio: { type: double, min: 0, max: 1 }
              tags: { type: list<string>, nonEmpty: true }
            require:
              limit: { ge: 1, le: 1000 }
              since: { ge: 2020-01-01 }
              level: { ne: High }
              owner: { notIn: [root, admin] }
            emits: GaugeStarted
          Record:
            fields:
              value: { type: decimal, min: -10.5, max: 99.75 }
              at: timestamp
              marks: "map<string, int>"
              weight: int?
            require:
              at: { gt: "2025-01-01T00:00:00+00:00" }
              marks: { nonEmpty: true }
              weight: { in: [1, 2, 3] }
            when:
              mode: [Idle, Running]
              count: { lt: 3 }
              total: { le: 100 }
              level: { in: [Low, Mid] }
              ratio: { gt: 0.25 }
              limit: { ge: 10 }
              tags: { nonEmpty: true }
            emits:
              Recorded: { total: $value }
          Calibrate:
            fields: { readings: list<Reading>, probe: Probe?, spares: "map<string, Reading>" }
            emits: Calibrated
          Stop:
            when:
              mode: { eq: Running }
              last: { ge: "2025-06-01T00:00:00Z" }
              since: { lt: 2030-01-01 }
              marks: { nonEmpty: true }
              owner: { ne: "nobody" }
            emits: Stopped
        events:
          GaugeStarted:
            type: shop.gauges.started
            fields: { owner: string, level: Level, limit: long?, since: date?, ratio: double, tags: list<string> }
            apply: { owner: $owner, level: $level, limit: $limit, since: $since, ratio: $ratio, tags: $tags, mode: Idle }
          Recorded:
            type: shop.gauges.recorded
            fields: { value: decimal, at: timestamp, marks: "map<string, int>", weight: int?, total: decimal }
            apply: { mode: Running, count: { increment: 1 }, total: { increment: $value }, last: $at, marks: $marks }
          Calibrated:
            type: shop.gauges.calibrated
            fields: { readings: list<Reading> }
            apply: { readings: $readings }
          Stopped:
            type: shop.gauges.stopped
            apply: { mode: Stopped }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("gauges/gauge.yaml", Aggregate));

    [Fact]
    public void every_guard_on_every_type_compiles() =>
        GeneratorHarness.Compiles(Texts, GeneratorHarness.CreateCompilation("Shop.Gauges"));

    // The service side: host the runtime with the generated domain and report each command's outcome.
    const string Service = """
        using System.Globalization;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Commands;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Torture;

        namespace Shop.Gauges.Run;

        public static class GaugeRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, string prefix)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(GaugesDomain)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    var outcomes = new List<string>();
                    async Task Try(string what, object command)
                    {
                        try
                        {
                            await commands.DispatchAsync(command);
                            outcomes.Add(what + ": accepted");
                        }
                        catch (CommandValidationException invalid)
                        {
                            outcomes.Add(what + ": invalid: " + string.Join("; ", invalid.Errors));
                        }
                        catch (CommandRejectedException rejected)
                        {
                            outcomes.Add(what + ": rejected: " + rejected.Message);
                        }
                    }
                    var at = new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.Zero);
                    var marks = new Dictionary<string, int> { ["a"] = 1 };
                    string Id(string name) => prefix + name;
                    // Starting: field constraints and requirements, optional fields absent or given.
                    await Try("start ada", new StartGauge(Id("ada"), "ada", Level.Low, 50L, new DateOnly(2024, 5, 1), 0.5, ["t"]));
                    await Try("start without the optional limit and since", new StartGauge(Id("bea"), "bea", Level.Mid, null, null, 0.5, ["t"]));
                    await Try("start empty owner, ratio above max, no tags", new StartGauge(Id("x1"), " ", Level.Low, 5L, null, 1.5, []));
                    await Try("start long owner", new StartGauge(Id("x2"), "abcdefghijk", Level.Low, 5L, null, 0.5, ["t"]));
                    await Try("start an owner with a digit", new StartGauge(Id("x5"), "ad4", Level.Low, 5L, null, 0.5, ["t"]));
                    await Try("start root", new StartGauge(Id("x3"), "root", Level.Low, 5L, null, 0.5, ["t"]));
                    await Try("start High, limit 0, since 2019", new StartGauge(Id("x4"), "cy", Level.High, 0L, new DateOnly(2019, 12, 31), 0.5, ["t"]));
                    // Recording: state guards on ada (limit 50, ratio 0.5, Low) and on bea (no limit: limit ge 10 fails).
                    await Try("record ada", new Record(Id("ada"), 10.5m, at, marks, 2));
                    await Try("record bea", new Record(Id("bea"), 10.5m, at, marks, null));
                    await Try("record value out of range, weight 4, no marks, early", new Record(Id("ada"), 100m, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), new Dictionary<string, int>(), 4));
                    await Try("record ada again", new Record(Id("ada"), 99.75m, at, marks, null));
                    await Try("record ada past the total", new Record(Id("ada"), -10.5m, at, marks, 1));
                    // The constraints of the value types a command holds, in a list, an optional value, a map, nested.
                    await Try("calibrate ada", new Calibrate(Id("ada"), [new Reading(at, 1m, "ok")], new Probe("p1", new Reading(at, 2m, null)),
                        new Dictionary<string, Reading> { ["s"] = new Reading(at, 0m, null) }));
                    await Try("calibrate with broken readings", new Calibrate(Id("ada"), [new Reading(at, 1m, null), new Reading(at, -1m, "B4")],
                        new Probe("toolong", new Reading(at, -2m, null)), new Dictionary<string, Reading> { ["s"] = new Reading(at, -3m, null) }));
                    await Try("calibrate without a probe", new Calibrate(Id("ada"), [], null, new Dictionary<string, Reading>()));
                    await Try("stop ada", new Stop(Id("ada")));
                    await Try("stop ada again", new Stop(Id("ada")));
                    await Try("stop bea", new Stop(Id("bea")));
                    return outcomes;
                });
            }
        }
        """;

    // A requirement on an optional command field applies to a given value (bea starts without a
    // limit or a date, ada records without a weight), as min: and max: do; a guard on optional
    // state fails while it is unset (bea has no limit to be at least 10).
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task the_runtime_accepts_and_refuses_exactly_what_the_guards_say(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Gauges", Texts, Service, "Shop.Gauges.Run.GaugeRun",
            [
                "start ada: accepted",
                "start without the optional limit and since: accepted",
                "start empty owner, ratio above max, no tags: invalid: owner must not be empty; owner must match [a-z]+; ratio must be at most 1; tags must not be empty",
                "start long owner: invalid: owner must be at most 10 characters",
                "start an owner with a digit: invalid: owner must match [a-z]+",
                "start root: invalid: owner must not be one of [root, admin]",
                "start High, limit 0, since 2019: invalid: limit must be at least 1; since must be at least 2020-01-01; level must not be High",
                "record ada: accepted",
                "record bea: rejected: Record rejected by Gauge: limit must be at least 10",
                "record value out of range, weight 4, no marks, early: invalid: value must be at most 99.75; at must be greater than 2025-01-01T00:00:00+00:00; marks must not be empty; weight must be one of [1, 2, 3]",
                "record ada again: accepted",
                "record ada past the total: rejected: Record rejected by Gauge: total must be at most 100",
                "calibrate ada: accepted",
                "calibrate with broken readings: invalid: readings[1].value must be at least 0; readings[1].tag must match [a-z]+; probe.name must be at most 5 characters; probe.reading.value must be at least 0; spares[s].value must be at least 0",
                "calibrate without a probe: accepted",
                "stop ada: accepted",
                "stop ada again: rejected: Stop rejected by Gauge: mode must be Running",
                "stop bea: rejected: Stop rejected by Gauge: mode must be Running",
            ],
            Guid.NewGuid().ToString("N")[..6]);
}
