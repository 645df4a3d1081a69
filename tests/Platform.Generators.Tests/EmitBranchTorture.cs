using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A command whose events depend on the state and on its own fields (<c>instead:</c>): the first
/// branch whose conditions hold emits its events, otherwise the command's <c>emits:</c>; guards and
/// validation still come first. Run on the hosted runtime; the stored streams say which branch ran.
/// </summary>
public class EmitBranchTorture
{
    const string Aggregate = """
        aggregate: Bin
        namespace: Shop.Bins
        id: { name: binId, type: string }
        state: { left: int, open: bool, flagged: int?, shortages: int, lastOrder: guid?, orders: list<guid>? }
        commands:
          OpenBin:
            creates: true
            fields: { left: int }
            emits: BinOpened
          Reserve:
            fields: { orderId: guid, quantity: int, rush: bool? }
            when: { open: true }
            require: { quantity: { gt: 0 } }
            emits: StockReserved
            instead:
              - when: { left: { lt: $quantity } }
                emits: { StockShort: { requested: $quantity } }
              - where: { quantity: { ge: 100 } }
                emits: [LargeOrderFlagged, StockReserved]
              - when: { left: $quantity }
                where: { rush: true }
                emits: [StockReserved, BinEmptied]
          CloseBin:
            emits: BinEmptied
            instead:
              # Closing a closed bin again changes nothing: accepted, and no event.
              - when: { open: false }
                emits: []
        events:
          BinOpened:
            type: shop.bins.opened
            fields: { left: int }
            apply: { left: $left, open: true }
          StockReserved:
            type: shop.bins.reserved
            fields: { orderId: guid, quantity: int }
            apply: { left: { decrement: $quantity }, lastOrder: $orderId, orders: { add: $orderId } }
          StockShort:
            type: shop.bins.short
            fields: { orderId: guid, requested: int }
            apply: { shortages: { increment: 1 } }
          LargeOrderFlagged:
            type: shop.bins.flagged
            fields: { orderId: guid, quantity: int }
            apply: { flagged: { increment: 1 } }
          BinEmptied:
            type: shop.bins.emptied
            apply: { open: false }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(new GeneratorHarness.InMemoryText("bins/bin.yaml", Aggregate));

    const string Service = """
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Commands;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Torture;

        namespace Shop.Bins.Run;

        public static class BinRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, string prefix)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(BinsDomain)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    var lines = new List<string>();
                    async Task Send(string bin, int quantity, bool? rush = null)
                    {
                        try
                        {
                            await commands.DispatchAsync(new Reserve(prefix + bin, Guid.NewGuid(), quantity, rush));
                        }
                        catch (Exception refused) when (refused is CommandRejectedException or CommandValidationException)
                        {
                            lines.Add($"{bin} {quantity}: {refused.GetType().Name}");
                        }
                    }
                    await commands.DispatchAsync(new OpenBin(prefix + "a", 300));
                    await Send("a", 5);               // left 300: reserved
                    await Send("a", 250);             // a large order: flagged and reserved
                    await Send("a", 2);               // left 45: reserved
                    await Send("a", 200);             // left 43, large too: the first branch wins, short
                    await Send("a", 43);              // all that is left, no rush: reserved
                    await Send("a", 1);               // left 0: short
                    await Send("a", 0);               // invalid before any branch
                    await commands.DispatchAsync(new OpenBin(prefix + "b", 4));
                    await Send("b", 4, rush: true);   // all that is left, in a rush: reserved and emptied
                    await Send("b", 1);               // closed: the guard rejects it
                    var closed = await commands.DispatchAsync(new CloseBin(prefix + "b"));
                    lines.Add($"b closed again at version {closed.Version}");
                    var store = services.GetRequiredService<IEventStore>();
                    var aggregates = services.GetRequiredService<IAggregateStore>();
                    foreach (var bin in new[] { "a", "b" })
                    {
                        var types = new List<string>();
                        await foreach (var envelope in store.ReadStreamAsync(prefix + bin))
                            types.Add(envelope.Event switch
                            {
                                StockShort s => $"short {s.Requested}",
                                LargeOrderFlagged f => $"flagged {f.Quantity}",
                                StockReserved r => $"reserved {r.Quantity}",
                                _ => envelope.Event.GetType().Name,
                            });
                        var state = (await aggregates.LoadAsync(new Bin(), prefix + bin)).State;
                        lines.Add($"{bin}: {string.Join(", ", types)}; left {state.Left} open {state.Open} flagged {state.Flagged?.ToString() ?? "none"} shortages {state.Shortages} orders {state.Orders?.Count.ToString() ?? "none"}");
                    }
                    return lines;
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task the_first_branch_that_holds_emits_instead_of_the_command(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Bins", Texts, Service, "Shop.Bins.Run.BinRun",
            [
                "a 0: CommandValidationException",
                "b 1: CommandRejectedException",
                "b closed again at version 3",
                "a: BinOpened, reserved 5, flagged 250, reserved 250, reserved 2, short 200, reserved 43, short 1; left 0 open True flagged 1 shortages 2 orders 4",
                "b: BinOpened, reserved 4, BinEmptied; left 0 open False flagged none shortages 0 orders 1",
            ],
            Guid.NewGuid().ToString("N")[..6]);
}
