using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A reaction with <c>after:</c> (expire a hold left unreleased): its command is a scheduled message
/// written in the reaction's transaction and sent when due, to the aggregate, whose
/// <c>instead:</c> makes the expiry of a released hold change nothing.
/// </summary>
public class DelayedReactionTorture
{
    const string Aggregate = """
        aggregate: Hold
        namespace: Shop.Holds
        id: { name: holdId, type: guid }
        state: { status: { enum: [Held, Released, Expired] } }
        commands:
          PlaceHold: { creates: true, emits: HoldPlaced }
          ReleaseHold: { when: { status: Held }, emits: HoldReleased }
          ExpireHold:
            emits: HoldExpired
            instead:
              - when: { status: { ne: Held } }
                emits: []
        events:
          HoldPlaced: { type: shop.holds.placed, apply: { status: Held } }
          HoldReleased: { type: shop.holds.released, apply: { status: Released } }
          HoldExpired: { type: shop.holds.expired, apply: { status: Expired } }
        """;

    const string Reactions = """
        namespace: Shop.Holds
        reactions:
          ExpireUnreleasedHold:
            when: HoldPlaced
            after: 2s
            send: ExpireHold
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("holds/hold.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("holds/reactions.yaml", Reactions));

    const string Service = """
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Events;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Torture;

        namespace Shop.Holds.Run;

        public static class HoldRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid kept, Guid released)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(HoldsDomain), cfg =>
                {
                    cfg.Transport.QueuePrefix = "holds-" + Guid.NewGuid().ToString("N")[..8];
                }), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    await commands.DispatchAsync(new PlaceHold(kept));
                    await commands.DispatchAsync(new PlaceHold(released));
                    await commands.DispatchAsync(new ReleaseHold(released));
                    var store = services.GetRequiredService<IEventStore>();
                    async Task<List<EventEnvelope>> Stream(Guid id)
                    {
                        var events = new List<EventEnvelope>();
                        await foreach (var envelope in store.ReadStreamAsync(id.ToString("D")))
                            events.Add(envelope);
                        return events;
                    }
                    var deadline = DateTime.UtcNow.AddSeconds(30);
                    while ((await Stream(kept)).Count < 2 && DateTime.UtcNow < deadline)
                        await Task.Delay(100);
                    // The released hold's expiry was due as soon as the kept one's: give it time to change nothing.
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    var lines = new List<string>();
                    foreach (var (name, id) in new[] { ("kept", kept), ("released", released) })
                    {
                        var events = await Stream(id);
                        lines.Add($"{name}: {string.Join(", ", events.Select(e => e.Event.GetType().Name))}");
                        if (events.FirstOrDefault(e => e.Event is HoldExpired) is { } expired)
                            lines.Add($"{name} expired at least 2 s after it was placed: {expired.Timestamp - events[0].Timestamp >= TimeSpan.FromSeconds(2)}");
                    }
                    return lines;
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task the_command_is_sent_when_due_and_the_aggregate_decides(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Holds", Texts, Service, "Shop.Holds.Run.HoldRun",
            [
                "kept: HoldPlaced, HoldExpired",
                "kept expired at least 2 s after it was placed: True",
                "released: HoldPlaced, HoldReleased",
            ],
            Guid.NewGuid(), Guid.NewGuid());
}
