using System.Text.Json.Nodes;
using Platform.Cli.Documents;
using Platform.Definitions.Checks;
using Platform.Definitions.Loading;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>Diagrams, AsyncAPI and event schemas drawn from the Orders definitions.</summary>
public class DocumentationArtefacts
{
    static readonly Lazy<DefinitionSet> Orders = new(() => DefinitionSet.Check(
        Directory.GetFiles(GeneratorHarness.OrdersDefinitions, "*.yaml").Select(p => DefinitionLoader.Load(p, File.ReadAllText(p)).Value!)).Value!);

    [Fact]
    public void saga_diagram_shows_compensation_in_reverse_order_and_the_failed_state()
    {
        var saga = MermaidDiagrams.All(Orders.Value).Single(d => d.Title == "OrderFulfilment saga").Diagram;
        Assert.StartsWith("stateDiagram-v2\n", saga);
        Assert.Contains("AwaitingShipment --> CompensatingInventory : ShipmentFailed / ReleaseInventory", saga);
        Assert.Contains("CompensatingInventory --> CompensatingPayment : InventoryReleased / RefundPayment", saga);
        Assert.Contains("CompensatingPayment --> Compensated : PaymentRefunded", saga);
        Assert.Contains("CompensatingPayment --> CompensationFailed : RefundFailed (alert)", saga);
        Assert.Contains("AwaitingPayment --> Compensated : PaymentFailed", saga); // nothing to undo yet
    }

    [Fact]
    public void aggregate_diagram_follows_guards_and_status_changes()
    {
        var order = MermaidDiagrams.All(Orders.Value).Single(d => d.Title == "Order lifecycle").Diagram;
        Assert.Contains("[*] --> Placed : PlaceOrder", order);
        Assert.Contains("Confirmed --> Shipped : ShipOrder", order);
        Assert.Contains("Confirmed --> Cancelled : CancelOrder", order);
        Assert.DoesNotContain("Shipped --> Cancelled", order); // CancelOrder's guard excludes Shipped
    }

    [Fact]
    public void asyncapi_lists_each_integration_event_once_with_its_payload()
    {
        var document = AsyncApiDocument.Build(Orders.Value, "Orders");
        Assert.Equal("3.0.0", (string?)document["asyncapi"]);
        var integration = Orders.Value.Events.Where(e => e.Kind == Platform.Definitions.Model.EventKind.Integration).ToList();
        Assert.NotEmpty(integration);
        Assert.Equal(integration.Count, document["channels"]!.AsObject().Count);
        var charged = document["components"]!["messages"]!["PaymentCharged"]!;
        Assert.Equal("shop.payments.payment-charged", (string?)charged["x-event-type"]);
        Assert.Equal(new[] { "orderId", "paymentId", "amount" }, charged["payload"]!["required"]!.AsArray().Select(n => (string)n!));
        Assert.DoesNotContain(document["channels"]!.AsObject(), c => c.Key.Contains('.'));
    }

    [Fact]
    public void event_schemas_cover_every_stored_version_and_mark_optional_fields()
    {
        var schemas = EventSchemas.All(Orders.Value).ToDictionary(s => s.FileName, s => s.Schema);
        Assert.Equal(Orders.Value.Events.Sum(e => e.Previous.Count + 1), schemas.Count);
        var v1 = schemas["shop.orders.order-placed.v1.schema.json"];
        var v2 = schemas["shop.orders.order-placed.v2.schema.json"];
        Assert.DoesNotContain("currency", v1["required"]!.AsArray().Select(n => (string)n!));
        Assert.Contains("currency", v2["required"]!.AsArray().Select(n => (string)n!));
        Assert.Equal("uuid", (string?)schemas["shop.payments.payment-charged.v1.schema.json"]["properties"]!["paymentId"]!["format"]);
        Assert.Equal(2, (int)v2["x-schema-version"]!);
    }
}
