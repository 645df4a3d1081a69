using System.Text.Json.Nodes;
using Platform.Cli.Documents;
using Platform.Definitions.Checks;
using Platform.Definitions.Loading;
using Platform.Definitions.Schema;
using Platform.Runtime.Configuration;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>Diagrams, AsyncAPI and event schemas drawn from the Orders definitions; the generated YAML and configuration references.</summary>
public class DocumentationArtefacts
{
    static readonly Lazy<DefinitionSet> Orders = new(() => OrdersWith((_, text) => text));

    /// <summary>The Orders definitions, each file's text passed through <paramref name="edit"/> (its name, its text).</summary>
    static DefinitionSet OrdersWith(Func<string, string, string> edit) => DefinitionSet.Check(
        Directory.GetFiles(GeneratorHarness.OrdersDefinitions, "*.yaml").Select(p => DefinitionLoader.Load(p, edit(Path.GetFileName(p), File.ReadAllText(p))).Value!)).Value!;

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
    public void saga_diagram_shows_a_start_condition_a_skipped_step_and_compensates_it_only_if_it_ran()
    {
        // Shipping only for a method other than PICKUP; payment only for an amount above zero.
        var set = OrdersWith((name, text) => name != "fulfilment.yaml" ? text : text
            .Replace("    send: ChargePayment", "    when: { totalAmount: { gt: 0 } }\n    send: ChargePayment", StringComparison.Ordinal)
            .Replace("    send: ArrangeShipment", "    when: { shippingMethod: { ne: PICKUP } }\n    send: ArrangeShipment", StringComparison.Ordinal)
            .Replace("startedBy: OrderPlaced\n", "startedBy: OrderPlaced\nwhere: { currency: { ne: XXX } }\n", StringComparison.Ordinal));
        var saga = MermaidDiagrams.All(set).Single(d => d.Title == "OrderFulfilment saga").Diagram;
        Assert.Contains("[*] --> AwaitingPayment : OrderPlaced where its conditions hold / ChargePayment", saga);
        Assert.Contains("[*] --> AwaitingInventory : OrderPlaced where its conditions hold, Payment skipped / ReserveInventory", saga);
        Assert.Contains(EventCatalog.ConsumersOf(set, "OrderPlaced"), c => c is { Kind: "saga", Role: "starts it where its conditions hold" });
        Assert.Contains("AwaitingInventory --> AwaitingShipment : InventoryReserved / ArrangeShipment", saga);
        Assert.Contains("AwaitingInventory --> Completed : InventoryReserved, Shipping skipped", saga);
        Assert.Contains("CompensatingInventory --> CompensatingPayment : InventoryReleased / RefundPayment (if Payment ran)", saga);
        Assert.Contains("CompensatingInventory --> Compensated : InventoryReleased, Payment skipped", saga);
    }

    [Fact]
    public void saga_diagram_and_catalogue_show_every_start_event()
    {
        // The fulfilment started by a placing or, for an order confirmed before its saga existed, by the confirmation.
        var set = OrdersWith((name, text) => name != "fulfilment.yaml" ? text : text
            .Replace("startedBy: OrderPlaced\n", "startedBy: [OrderPlaced, OrderConfirmed]\n", StringComparison.Ordinal));
        var saga = MermaidDiagrams.All(set).Single(d => d.Title == "OrderFulfilment saga").Diagram;
        Assert.Contains("[*] --> AwaitingPayment : OrderPlaced / ChargePayment", saga);
        Assert.Contains("[*] --> AwaitingPayment : OrderConfirmed / ChargePayment", saga);
        Assert.Contains(EventCatalog.ConsumersOf(set, "OrderConfirmed"), c => c is { Kind: "saga", Name: "OrderFulfilment", Role: "starts it" });
    }

    [Fact]
    public void saga_diagram_and_catalogue_show_a_deadline_as_the_field_it_waits_until()
    {
        // Payment due by a time the order carries, and the whole fulfilment by another; the order
        // cancelled when its shipping is due unless it was confirmed first.
        var set = OrdersWith((name, text) => name switch
        {
            "reactions.yaml" => text.Replace("reactions:\n", "reactions:\n  CancelWhenShippingDue:\n    when: OrderPlaced\n    at: $shipBy\n    send: CancelOrder\n    with: { reason: late }\n    unless: OrderConfirmed\n", StringComparison.Ordinal),
            "order.yaml" => text.Replace("      shippingMethod: string\n    apply:", "      shippingMethod: string\n      payBy: timestamp\n      shipBy: timestamp\n    apply:", StringComparison.Ordinal),
            "fulfilment.yaml" => text
                .Replace("timeout: 2h\n", "timeout: $shipBy\n", StringComparison.Ordinal)
                .Replace("    timeout: 30s\n", "    timeout: $payBy\n", StringComparison.Ordinal)
                .Replace("  shippingMethod: string\n", "  shippingMethod: string\n  payBy: timestamp\n  shipBy: timestamp\n", StringComparison.Ordinal),
            _ => text,
        });
        var saga = MermaidDiagrams.All(set).Single(d => d.Title == "OrderFulfilment saga").Diagram;
        Assert.Contains("AwaitingPayment --> Compensated : Payment timeout (at payBy)", saga);
        Assert.Contains("AwaitingPayment --> Compensated : saga timeout (at shipBy)", saga);
        Assert.Contains("AwaitingInventory --> CompensatingPayment : Inventory timeout (1m) / RefundPayment", saga);
        Assert.Contains(EventCatalog.ConsumersOf(set, "OrderPlaced"), c => c is { Kind: "reaction", Name: "CancelWhenShippingDue", Role: "sends CancelOrder at its shipBy, unless OrderConfirmed first" });
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

    [Fact]
    public void yaml_reference_describes_every_file_kind_and_every_key_the_schema_has()
    {
        var schema = JsonNode.Parse(PlatformSchema.ToJson())!;
        var reference = YamlReference.Render(PlatformSchema.ToJson());
        var kinds = schema["oneOf"]!.AsArray().Select(k => ((string)k!["$ref"]!).Split('/')[^1]).ToList();
        Assert.Equal(["aggregateFile", "contractsFile", "projectionFile", "sagaFile", "reactionsFile"], kinds);
        foreach (var kind in kinds)
        {
            Assert.Contains($"| `{kind[..^"File".Length]}:` | [{kind}](#{kind.ToLowerInvariant()}) |", reference);
            var file = schema["definitions"]![kind]!;
            var required = file["required"]!.AsArray().Select(n => (string)n!).ToHashSet();
            foreach (var (key, _) in file["properties"]!.AsObject())
                Assert.Matches($@"\| `{key}` \| [^|]+ \| {(required.Contains(key) ? "yes" : "no")} \|", reference);
        }
        foreach (var (name, _) in schema["definitions"]!.AsObject())
            Assert.Contains($"\n### {name}\n", reference);
        Assert.Contains("one of `BACKWARD`, `BACKWARD_TRANSITIVE`, `FORWARD`, `FULL`, `NONE`", reference);
        Assert.Contains("one of `ignore`, `deadLetter`", reference);
        Assert.Contains("pattern `^[1-9][0-9]*(ms|s|m|h|d)$`", reference);
    }

    [Fact]
    public void configuration_reference_lists_every_setting_with_its_keys_default_and_description()
    {
        var reference = ConfigurationReference.Render();
        var settings = PlatformYamlConfiguration.DescribeSettings();
        Assert.True(settings.Count >= 40, $"only {settings.Count} settings found in PlatformOptions");
        foreach (var setting in settings)
        {
            var map = setting.Property.PropertyType.IsGenericType && setting.Property.PropertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>);
            var key = setting.ConfigurationKey + (setting.YamlPath == "domains" ? ":0" : map ? ":{name}" : "");
            Assert.Contains($"| `{setting.YamlPath}` | `{key}` | `{key.Replace(":", "__")}` |", reference);
        }
        Assert.Contains("| `store.provider` | `Platform:Store:Provider` | `Platform__Store__Provider` | one of sqlite, postgres | `sqlite` | The database.", reference);
        Assert.Contains("| `relay.pollInterval` | `Platform:Relay:PollInterval` | `Platform__Relay__PollInterval` | a duration such as 00:00:30 | `00:00:00.05` |", reference);
        Assert.Contains("| `transport.kafka.partitions` | `Platform:Transport:Kafka:Partitions` | `Platform__Transport__Kafka__Partitions` | a whole number | `12` |", reference);
        Assert.DoesNotContain("No XML documentation file", reference);
        Assert.Contains("`Platform:Sagas:Timeouts:{name}`", reference);
        Assert.Contains("| `transport.kafka.consumer` | `Platform:Transport:Kafka:Consumer:{name}` | `Platform__Transport__Kafka__Consumer__{name}` | a mapping of names, each to a text value |", reference);
    }

    [Fact]
    public void the_event_catalogue_names_each_events_versions_emitters_and_consumers()
    {
        var catalogue = EventCatalog.Markdown(Orders.Value, GeneratorHarness.OrdersDefinitions);

        Assert.Contains("| [OrderPlaced](#orderplaced) | domain | `shop.orders.order-placed` | v2 | Order | PlaceOrder | " +
                        "CustomerOrders (projection), OrderSummary (projection), OrderFulfilment (saga) |", catalogue);
        Assert.Contains("- v1 to v2: `currency` defaults to KRW; `shippingMethod` defaults to STANDARD.", catalogue);
        Assert.Contains("- saga OrderFulfilment: starts it", catalogue);
        Assert.Contains("- reaction ShipOrderWhenShipmentArranged: sends ShipOrder", catalogue);
        Assert.Contains("defined in `order.yaml:50`", catalogue);
        // Every event of the definitions has a section, and nothing else does.
        var sections = catalogue.Split('\n').Where(l => l.StartsWith("## ", StringComparison.Ordinal)).Select(l => l[3..]).Order(StringComparer.Ordinal);
        Assert.Equal(Orders.Value.Events.Select(e => e.Name).Order(StringComparer.Ordinal), sections);
        var saga = EventCatalog.ConsumersOf(Orders.Value, "PaymentFailed").Single();
        Assert.Equal(("saga", "OrderFulfilment"), (saga.Kind, saga.Name));
        Assert.StartsWith("step ", saga.Role, StringComparison.Ordinal);
    }

    // The catalogue and the diagrams show what a branch emits, a handler's conditions, a delay and what cancels it.
    [Fact]
    public void the_catalogue_and_diagrams_show_instead_branches_conditions_and_delays()
    {
        var files = new[]
        {
            ("hold.yaml", """
                aggregate: Hold
                namespace: Shop.Holds
                id: { name: holdId, type: guid }
                state: { status: { enum: [Held, Released, Expired] } }
                commands:
                  PlaceHold: { creates: true, emits: HoldPlaced }
                  ReleaseHold:
                    when: { status: Held }
                    emits: HoldReleased
                    instead:
                      - when: { status: Held }
                        emits: HoldExpired
                events:
                  HoldPlaced: { type: shop.holds.placed, apply: { status: Held } }
                  HoldReleased: { type: shop.holds.released, apply: { status: Released } }
                  HoldExpired: { type: shop.holds.expired, apply: { status: Expired } }
                """),
            ("reactions.yaml", """
                namespace: Shop.Holds
                reactions:
                  ReleaseLater: { when: HoldPlaced, after: 30m, send: ReleaseHold, unless: [HoldReleased, HoldExpired] }
                """),
            ("board.yaml", """
                projection: HoldBoard
                namespace: Shop.Holds
                aggregate: Hold
                key: { name: holdId, type: guid }
                fields: { open: bool }
                on:
                  HoldPlaced: { action: insert, where: { holdId: { ne: $holdId } }, set: { open: true } }
                """),
        };
        var set = DefinitionSet.Check(files.Select(f => DefinitionLoader.Load(f.Item1, f.Item2).Value!)).Value!;
        Assert.Equal(["HoldBoard (projection): insert a row where its conditions hold", "ReleaseLater (reaction): sends ReleaseHold 30m later, unless HoldReleased or HoldExpired first"],
            EventCatalog.ConsumersOf(set, "HoldPlaced").Select(c => $"{c.Name} ({c.Kind}): {c.Role}"));
        Assert.Equal(["ReleaseLater (reaction): cancels the ReleaseHold HoldPlaced scheduled"],
            EventCatalog.ConsumersOf(set, "HoldReleased").Select(c => $"{c.Name} ({c.Kind}): {c.Role}"));
        Assert.Contains("ReleaseHold", EventCatalog.Markdown(set, ".").Split("## HoldExpired")[1].Split("## ")[0]);
        var lifecycle = MermaidDiagrams.All(set).Single(d => d.Title.StartsWith("Hold", StringComparison.Ordinal)).Diagram;
        Assert.Contains("Held --> Released : ReleaseHold", lifecycle);
        Assert.Contains("Held --> Expired : ReleaseHold", lifecycle);
    }

    [Fact]
    public void the_committed_event_catalogue_of_the_example_is_what_the_command_writes_now()
    {
        var committed = File.ReadAllText(Path.Combine(GeneratorHarness.RepositoryRoot, "examples", "Orders", "event-catalog.md"));
        Assert.True(committed == EventCatalog.Markdown(Orders.Value, GeneratorHarness.OrdersDefinitions),
            "examples/Orders/event-catalog.md is stale; run scripts/drift-check.sh --fix and commit it");
    }

    [Theory]
    [InlineData("yaml")]
    [InlineData("configuration")]
    public void the_committed_reference_is_what_the_command_writes_now(string kind)
    {
        var committed = File.ReadAllText(Path.Combine(GeneratorHarness.RepositoryRoot, "docs", "reference", kind + ".md"));
        var current = kind == "yaml" ? YamlReference.Render(PlatformSchema.ToJson()) : ConfigurationReference.Render();
        Assert.True(committed == current, $"docs/reference/{kind}.md is stale; run scripts/drift-check.sh --fix and commit it");
    }
}
