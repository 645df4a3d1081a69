using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Values the checks let pass between types C# does not convert by itself: each inline
/// <c>{ enum: [...] }</c> is a C# type of its own (a command's, its event's, the state's, a read
/// model's, another team's command's), an enum is assigned to text and text to an enum, a
/// timestamp to a date. On the hosted runtime, through commands, events, an upcast, state, a
/// projection and a reaction.
/// </summary>
public class EnumTorture
{
    const string Aggregate = """
        aggregate: Lamp
        namespace: Shop.Lamps
        id: { name: lampId, type: string }
        state: { shade: { enum: [Red, Blue] }, label: string, day: date? }
        commands:
          Light:
            creates: true
            fields: { color: { enum: [Red, Blue] }, name: string, at: timestamp, mood: string?, glow: string }
            emits:
              Lit: { tone: $color, shine: $glow }
        events:
          Lit:
            type: shop.lamps.lit
            version: 2
            fields: { color: { enum: [Red, Blue] }, name: string, at: timestamp, tone: { enum: [Red, Blue] }, mood: { enum: [Calm, Bright], optional: true }, shine: { enum: [Calm, Bright] } }
            apply: { shade: $color, label: $color, day: $at }
            previous:
              - version: 1
                fields: { color: { enum: [Red, Blue] }, name: string, at: timestamp }
                upcast:
                  tone: { compute: $color }
                  shine: { default: Calm }
        """;

    const string Orders = """
        contracts: Paint
        namespace: Shop.Paint
        commands:
          MixPaint: { fields: { lampId: string, color: { enum: [Red, Blue] }, label: string, tone: { enum: [Red, Blue] } } }
        """;

    const string Reactions = """
        reactions:
          MixWhenLit:
            when: Lit
            send: MixPaint
            with: { label: $color, tone: $name }
        namespace: Shop.Lamps
        """;

    const string View = """
        projection: LampView
        namespace: Shop.Lamps
        aggregate: Lamp
        key: { name: lampId, type: string }
        fields: { colorText: string, named: { enum: [Red, Blue] }, day: date, tone: { enum: [Red, Blue] } }
        on:
          Lit: { action: insert, set: { colorText: $color, named: $name, day: $at, tone: $tone } }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("lamps/lamp.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("lamps/paint.yaml", Orders),
        new GeneratorHarness.InMemoryText("lamps/reactions.yaml", Reactions),
        new GeneratorHarness.InMemoryText("lamps/lamp-view.yaml", View));

    [Fact]
    public void every_conversion_the_checks_allow_compiles() =>
        GeneratorHarness.Compiles(Texts, GeneratorHarness.CreateCompilation("Shop.Lamps"));

    [Fact]
    public void an_upcast_computes_an_inline_enum_from_another()
    {
        var assembly = GuideExamples.Compile("Shop.Lamps", Texts, """
            namespace Shop.Lamps.Run;

            public static class LitRead
            {
                public static string Read(string json) =>
                    ((Lit)LitEventType.Instance.Deserialize(System.Text.Encoding.UTF8.GetBytes(json), 1)) is var e ? $"{e.Color} {e.Tone}" : "";
            }
            """);
        var read = assembly.GetType("Shop.Lamps.Run.LitRead", throwOnError: true)!.GetMethod("Read")!;
        Assert.Equal("Blue Blue", read.Invoke(null, ["""{"color":"Blue","name":"n","at":"2026-01-02T03:04:05+00:00"}"""]));
    }

    // Text a command gives an event's enum is the sender's to get right: a name that is no member
    // is refused with the command's other errors, before the aggregate runs.
    [Fact]
    public void a_commands_text_for_an_enum_must_name_a_member()
    {
        var assembly = GuideExamples.Compile("Shop.Lamps", Texts, """
            namespace Shop.Lamps.Run;

            public static class LightCheck
            {
                public static string Errors(string? mood, string glow) =>
                    string.Join(" | ", new Light("l", LightColor.Red, "n", System.DateTimeOffset.UnixEpoch, mood, glow).Validate());
            }
            """);
        var errors = assembly.GetType("Shop.Lamps.Run.LightCheck", throwOnError: true)!.GetMethod("Errors")!;
        Assert.Equal("", errors.Invoke(null, ["Calm", "Bright"]));
        Assert.Equal("", errors.Invoke(null, [null, "Calm"]));
        Assert.Equal("mood must be one of Calm, Bright | glow must be one of Calm, Bright", errors.Invoke(null, ["calm", "1"]));
    }

    const string Service = """
        using System.Collections.Concurrent;
        using System.Globalization;
        using MassTransit;
        using Microsoft.EntityFrameworkCore;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Projections;
        using Shop.Paint;
        using Platform.Torture;

        namespace Shop.Lamps.Run;

        public sealed class Mixer(ConcurrentQueue<string> mixed) : IConsumer<MixPaint>
        {
            public Task Consume(ConsumeContext<MixPaint> context)
            {
                mixed.Enqueue($"mix {context.Message.LampId}: {context.Message.Color} label {context.Message.Label} tone {context.Message.Tone}");
                return Task.CompletedTask;
            }
        }

        public static class LampRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, string prefix)
            {
                var mixed = new ConcurrentQueue<string>();
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(LampsDomain), cfg =>
                {
                    cfg.Transport.QueuePrefix = "lamps-" + Guid.NewGuid().ToString("N")[..8];
                    cfg.AddEventConsumer<Mixer>();
                    cfg.Sagas.Route<MixPaint>(new Uri("queue:" + cfg.EventQueueName(typeof(Mixer))));
                }, services: collection => collection.AddSingleton(mixed)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    await commands.DispatchAsync(new Light(prefix + "a", LightColor.Blue, "Red", new DateTimeOffset(2026, 3, 4, 23, 30, 0, TimeSpan.FromHours(-5)), "Calm", "Bright"));
                    var last = await commands.DispatchAsync(new Light(prefix + "b", LightColor.Red, "Blue", new DateTimeOffset(2026, 3, 4, 1, 0, 0, TimeSpan.Zero), null, "Calm"));
                    var lines = new List<string>();
                    var aggregates = services.GetRequiredService<IAggregateStore>();
                    foreach (var id in new[] { "a", "b" })
                    {
                        var state = (await aggregates.LoadAsync(new Lamp(), prefix + id)).State;
                        lines.Add($"lamp {id}: shade {state.Shade} label {state.Label} day {state.Day:yyyy-MM-dd}");
                    }
                    await Hosted.CaughtUpAsync(services, last.Position, LampViewProjection.ProjectionName);
                    await using (var rows = await services.GetRequiredService<ReadModels>().OpenAsync(LampViewProjection.ProjectionName))
                        lines.AddRange((await rows.Set<LampView>().ToListAsync()).OrderBy(r => r.LampId, StringComparer.Ordinal)
                            .Select(r => $"view {r.LampId[prefix.Length..]}: {r.ColorText} named {r.Named} day {r.Day:yyyy-MM-dd} tone {r.Tone}"));
                    for (var wait = 0; wait < 200 && mixed.Count < 2; wait++)
                        await Task.Delay(50);
                    lines.AddRange(mixed.Select(m => m.Replace(prefix, "", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
                    return lines;
                });
            }
        }
        """;

    // Lamp a: lit Blue, named "Red", at 23:30 on March 4th at -05:00 (its date there, not in UTC).
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task enums_text_and_dates_cross_between_types_as_the_checks_allow(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Lamps", Texts, Service, "Shop.Lamps.Run.LampRun",
            [
                "lamp a: shade Blue label Blue day 2026-03-04",
                "lamp b: shade Red label Red day 2026-03-04",
                "view a: Blue named Red day 2026-03-04 tone Blue",
                "view b: Red named Blue day 2026-03-04 tone Red",
                "mix a: Blue label Blue tone Red",
                "mix b: Red label Red tone Blue",
            ],
            Guid.NewGuid().ToString("N")[..6]);
}
