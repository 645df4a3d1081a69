using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A command whose rules let it run again (<c>Add</c> has no guard) sent twice under one id: the
/// second is answered as the first's duplicate and adds nothing, whether it would emit the same
/// events again or, on the state the first left, more of them (past the limit, <c>Added</c> and
/// <c>LimitReached</c>). The same amounts under ids of their own all count.
/// </summary>
public class CommandIdTorture
{
    const string Aggregate = """
        aggregate: Tally
        namespace: Shop.Tallies
        id: { name: tallyId, type: guid }
        state: { total: int }
        commands:
          Open: { creates: true, emits: Opened }
          Add:
            fields: { amount: int }
            emits: Added
            instead:
              - when: { total: { ge: 10 } }
                emits: [Added, LimitReached]
        events:
          Opened: { type: shop.tallies.opened }
          Added: { type: shop.tallies.added, fields: { amount: int }, apply: { total: { increment: $amount } } }
          LimitReached: { type: shop.tallies.limit-reached }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("tallies/tally.yaml", Aggregate));

    const string Service = """
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Torture;

        namespace Shop.Tallies.Run;

        public static class TallyRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid tally)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(TalliesDomain)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    var store = services.GetRequiredService<IEventStore>();
                    var lines = new List<string>();
                    async Task Add(int amount, Guid id)
                    {
                        var accepted = await commands.DispatchAsync(new Add(tally, amount), new CommandContext(id));
                        lines.Add($"add {amount}: version {accepted.Version}{(accepted.Duplicate ? ", duplicate" : "")}");
                    }
                    await commands.DispatchAsync(new Open(tally));
                    var (first, second) = (Guid.CreateVersion7(), Guid.CreateVersion7());
                    await Add(4, first);
                    await Add(4, first); // would emit Added again
                    await Add(6, second);
                    await Add(6, second); // at 10 now: would emit Added and LimitReached
                    await Add(4, Guid.CreateVersion7());
                    await Add(4, Guid.CreateVersion7());
                    var events = new List<string>();
                    await foreach (var envelope in store.ReadStreamAsync(tally.ToString("D")))
                        events.Add(envelope.Event is Added added ? $"Added {added.Amount}" : envelope.Event.GetType().Name);
                    lines.Add(string.Join(", ", events));
                    return lines;
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task a_command_sent_again_under_its_id_adds_nothing_whatever_its_second_run_would_emit(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Tallies", Texts, Service, "Shop.Tallies.Run.TallyRun",
            [
                "add 4: version 2",
                "add 4: version 2, duplicate",
                "add 6: version 3",
                "add 6: version 3, duplicate",
                "add 4: version 5",
                "add 4: version 7",
                "Opened, Added 4, Added 6, Added 4, LimitReached, Added 4, LimitReached",
            ],
            Guid.NewGuid());
}
