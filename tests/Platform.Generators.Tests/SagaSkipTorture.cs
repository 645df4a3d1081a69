using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Steps that do not run: a step's <c>when:</c> on the saga's data (a free order is not charged, a
/// digital one not shipped), and a handler that moves the saga past a step (stock waived). On the
/// hosted runtime, the services see only the steps that ran, and a compensation undoes only those:
/// a free order's failed shipment releases its stock and refunds nothing; a waived stock's is not
/// released. Before steps were recorded as skipped, the compensation after a handler's jump
/// released a reservation never made. The handler also keeps the waiver's reason, which the
/// shipment it starts carries; a handler's where: lets a minor flag pass and compensates a grave
/// one; and the saga's where: starts none for an order it leaves out.
/// </summary>
public class SagaSkipTorture
{
    const string Aggregate = """
        aggregate: Order
        namespace: Shop.Deliveries
        id: { name: orderId, type: guid }
        state: { placed: bool }
        commands:
          PlaceOrder: { creates: true, fields: { buyer: string, amount: decimal, digital: bool }, emits: OrderPlaced }
        events:
          OrderPlaced: { type: shop.deliveries.placed, fields: { buyer: string, amount: decimal, digital: bool }, apply: { placed: true } }
        """;

    const string Contracts = """
        contracts: Services
        namespace: Shop.Deliveries
        commands:
          Charge: { fields: { orderId: guid, buyer: string, amount: decimal } }
          Refund: { fields: { orderId: guid, buyer: string } }
          Reserve: { fields: { orderId: guid, buyer: string } }
          Release: { fields: { orderId: guid, buyer: string } }
          Ship: { fields: { orderId: guid, buyer: string, note: string? } }
        events:
          Charged: { type: shop.deliveries.charged, fields: { orderId: guid } }
          ChargeFailed: { type: shop.deliveries.charge-failed, fields: { orderId: guid } }
          Refunded: { type: shop.deliveries.refunded, fields: { orderId: guid } }
          Reserved: { type: shop.deliveries.reserved, fields: { orderId: guid } }
          StockWaived: { type: shop.deliveries.stock-waived, fields: { orderId: guid, reason: string } }
          Shipped: { type: shop.deliveries.shipped, fields: { orderId: guid } }
          ShipFailed: { type: shop.deliveries.ship-failed, fields: { orderId: guid } }
          Flagged: { type: shop.deliveries.flagged, fields: { orderId: guid, severity: int } }
        """;

    // Payment's compensation waits for its reply, Stock's is sent and the compensation goes on: both
    // ways of passing over a skipped step.
    const string Saga = """
        saga: Delivery
        namespace: Shop.Deliveries
        correlateBy: orderId
        startedBy: OrderPlaced
        where: { buyer: { ne: zed } }
        timeout: 1h
        data: { orderId: guid, buyer: string, amount: decimal, digital: bool, waiver: string? }
        steps:
          - name: Payment
            when: { amount: { gt: 0 } }
            send: Charge
            onSuccess: Charged
            onFailure: ChargeFailed
            timeout: 1h
            compensate: { send: Refund, onSuccess: Refunded, timeout: 1h }
          - name: Stock
            send: Reserve
            onSuccess: Reserved
            timeout: 1h
            compensate: Release
          - name: Shipping
            when: { digital: false }
            send: Ship
            with: { note: $waiver }
            onSuccess: Shipped
            onFailure: ShipFailed
            timeout: 1h
            compensation: none
        on:
          StockWaived:
            in: [AwaitingStock]
            keep: { waiver: $reason }
            then: AwaitingShipping
          Flagged:
            in: [AwaitingShipping]
            where: { severity: { ge: 5 } }
            then: compensate
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("deliveries/order.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("deliveries/services.yaml", Contracts),
        new GeneratorHarness.InMemoryText("deliveries/delivery.yaml", Saga));

    // The services answer by buyer: cat's and dan's shipments fail, dan's and eve's stock is waived.
    const string Service = """
        using System.Collections.Concurrent;
        using System.Text.Json;
        using MassTransit;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Sagas;
        using Platform.Torture;

        namespace Shop.Deliveries.Run;

        public sealed class Desk(ConcurrentQueue<string> seen) : IConsumer<Charge>, IConsumer<Refund>, IConsumer<Reserve>, IConsumer<Release>, IConsumer<Ship>
        {
            public Task Consume(ConsumeContext<Charge> context)
            {
                seen.Enqueue($"{context.Message.Buyer} charge {context.Message.Amount}");
                return context.Publish(new Charged(context.Message.OrderId));
            }

            public Task Consume(ConsumeContext<Refund> context)
            {
                seen.Enqueue($"{context.Message.Buyer} refund");
                return context.Publish(new Refunded(context.Message.OrderId));
            }

            public Task Consume(ConsumeContext<Reserve> context)
            {
                seen.Enqueue($"{context.Message.Buyer} reserve");
                return context.Message.Buyer is "dan" or "eve"
                    ? context.Publish(new StockWaived(context.Message.OrderId, "made to order"))
                    : context.Publish(new Reserved(context.Message.OrderId));
            }

            public Task Consume(ConsumeContext<Release> context)
            {
                seen.Enqueue($"{context.Message.Buyer} release");
                return Task.CompletedTask;
            }

            public Task Consume(ConsumeContext<Ship> context)
            {
                seen.Enqueue($"{context.Message.Buyer} ship{(context.Message.Note is { } note ? $" ({note})" : "")}");
                return context.Message.Buyer switch
                {
                    "cat" or "dan" => context.Publish(new ShipFailed(context.Message.OrderId)),
                    // A minor flag the saga's handler leaves alone, then the shipment.
                    "fay" => context.Publish(new Flagged(context.Message.OrderId, 1)).ContinueWith(_ => context.Publish(new Shipped(context.Message.OrderId))).Unwrap(),
                    // A grave one, which compensates; no shipment.
                    "gus" => context.Publish(new Flagged(context.Message.OrderId, 9)),
                    _ => context.Publish(new Shipped(context.Message.OrderId)),
                };
            }
        }

        public static class DeliveryRun
        {
            // ann: paid, physical. ben: free, digital. cat: free, physical, its shipment fails.
            // dan: paid, stock waived, its shipment fails. eve: paid, digital, stock waived. zed: the
            // saga's where: leaves out, so none starts (placed first, so its event was handled long
            // before the others' sagas end). fay: flagged as minor, shipped. gus: flagged as grave.
            static readonly (string Buyer, decimal Amount, bool Digital)[] Orders =
                [("zed", 10m, false), ("ann", 10m, false), ("ben", 0m, true), ("cat", 0m, false), ("dan", 10m, false), ("eve", 10m, true),
                 ("fay", 10m, false), ("gus", 10m, false)];

            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid[] ids)
            {
                var seen = new ConcurrentQueue<string>();
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.BuildWithService<Desk>(postgres, connectionString, typeof(DeliveriesDomain), "skips",
                    (sagas, desk) => sagas.Route<Charge>(desk).Route<Refund>(desk).Route<Reserve>(desk).Route<Release>(desk).Route<Ship>(desk),
                    services: collection => collection.AddSingleton(seen)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    var sagas = Hosted.Sagas(services);
                    for (var i = 0; i < Orders.Length; i++)
                        await commands.DispatchAsync(new PlaceOrder(ids[i], Orders[i].Buyer, Orders[i].Amount, Orders[i].Digital));
                    var ends = new List<string>();
                    for (var i = 1; i < Orders.Length; i++)
                    {
                        var row = await Hosted.SagaInAsync(sagas, ids[i], ["Completed", "Compensated", "CompensationFailed"],
                            () => $"{Orders[i].Buyer}; seen: {string.Join(" | ", seen)}");
                        var data = JsonDocument.Parse(row.Data).RootElement;
                        var skipped = new[] { "payment", "stock", "shipping" }.Where(step => data.GetProperty(step + "Skipped").GetBoolean());
                        var waiver = data.GetProperty("waiver").GetString();
                        ends.Add($"{Orders[i].Buyer} {row.CurrentState}, skipped: {string.Join(" ", skipped.DefaultIfEmpty("none"))}{(waiver is null ? "" : ", waiver: " + waiver)}");
                    }
                    // A release is sent without a reply awaited: wait for every command the services
                    // should see, then a little longer for one they should not.
                    for (var wait = 0; seen.Count < 21 && wait < 200; wait++) await Task.Delay(50);
                    await Task.Delay(500);
                    // zed's order was placed before the others ended: no saga, no history row.
                    var zed = await sagas.GetAsync(ids[0]);
                    ends.Add($"zed: {(zed.Count == 0 ? "no saga" : string.Join(" ", zed.Select(s => s.Instance.CurrentState)))}");
                    return [.. seen.Order(StringComparer.Ordinal), .. ends];
                });
            }
        }
        """;

    [Fact]
    public void skipped_steps_are_recorded_only_for_the_steps_that_can_be_skipped()
    {
        var (driver, _) = GeneratorHarness.Compiles(Texts, GeneratorHarness.CreateCompilation("Shop.Deliveries"));
        var source = GeneratorHarness.Source(driver, "Shop.Deliveries.Delivery.g.cs");
        Assert.Contains("public bool PaymentSkipped { get; set; }", source);
        Assert.Contains("public bool StockSkipped { get; set; }", source);
        Assert.Contains("public bool ShippingSkipped { get; set; }", source);
        // Without the handler, the stock step always runs: its compensation is not conditional.
        var (plain, _) = GeneratorHarness.Compiles(
            [Texts[0], Texts[1], new GeneratorHarness.InMemoryText("deliveries/delivery.yaml", Saga[..Saga.IndexOf("\non:", StringComparison.Ordinal)])],
            GeneratorHarness.CreateCompilation("Shop.Deliveries"));
        var plainSource = GeneratorHarness.Source(plain, "Shop.Deliveries.Delivery.g.cs");
        Assert.DoesNotContain("StockSkipped", plainSource);
        Assert.Contains("PaymentSkipped", plainSource);
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task only_the_steps_that_ran_are_sent_and_compensated(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Deliveries", Texts, Service, "Shop.Deliveries.Run.DeliveryRun",
            [
                "ann charge 10",
                "ann reserve",
                "ann ship",
                "ben reserve",
                "cat release",
                "cat reserve",
                "cat ship",
                "dan charge 10",
                "dan refund",
                "dan reserve",
                "dan ship (made to order)",
                "eve charge 10",
                "eve reserve",
                "fay charge 10",
                "fay reserve",
                "fay ship",
                "gus charge 10",
                "gus refund",
                "gus release",
                "gus reserve",
                "gus ship",
                "ann Completed, skipped: none",
                "ben Completed, skipped: payment shipping",
                "cat Compensated, skipped: payment",
                "dan Compensated, skipped: stock, waiver: made to order",
                "eve Completed, skipped: stock shipping, waiver: made to order",
                "fay Completed, skipped: none",
                "gus Compensated, skipped: none",
                "zed: no saga",
            ],
            Enumerable.Range(0, 8).Select(_ => Guid.NewGuid()).ToArray());
}
