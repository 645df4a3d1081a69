using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A projection's <c>DefinitionFingerprint</c>, which makes the runtime rebuild its table, and an
/// aggregate's snapshot <c>SchemaFingerprint</c>, which makes it ignore older snapshots, change with
/// what the rows or the state depend on (upcasts of the event fields read included), and not with
/// how the YAML is written.
/// </summary>
public sealed partial class ProjectionFingerprints
{
    static readonly string SummaryFile = Path.Combine(GeneratorHarness.OrdersDefinitions, "order-summary.yaml");

    [Fact]
    public void comments_layout_and_order_of_keys_leave_the_fingerprint_alone()
    {
        var original = File.ReadAllText(SummaryFile);
        var relaid = "# a comment added above\n\n" + original
            .Replace("set: { status: Confirmed, updatedAt: $meta.timestamp }",
                "set:\n      # the same values, written as a block\n      updatedAt: $meta.timestamp\n      status: Confirmed", StringComparison.Ordinal);
        Assert.NotEqual(original, relaid);
        Assert.Equal(Fingerprint(original), Fingerprint(relaid));
    }

    [Theory]
    [InlineData("set: { status: Confirmed, updatedAt: $meta.timestamp }", "set: { status: Approved, updatedAt: $meta.timestamp }")]
    [InlineData("  cancelReason: string?\n", "  cancelReason: string?\n  note: string?\n")]
    [InlineData("  itemCount: int\n", "  itemCount: long\n")]
    [InlineData("    action: update\n    set: { status: Shipped", "    action: upsert\n    set: { status: Shipped")]
    [InlineData("    action: update\n    set: { status: Shipped", "    action: update\n    where: { trackingNumber: { nonEmpty: true } }\n    set: { status: Shipped")]
    public void a_changed_field_type_value_or_action_changes_it(string before, string after)
    {
        var original = File.ReadAllText(SummaryFile);
        Assert.Contains(before, original, StringComparison.Ordinal);
        Assert.NotEqual(Fingerprint(original), Fingerprint(original.Replace(before, after, StringComparison.Ordinal)));
    }

    [Fact]
    public void the_order_of_a_handlers_conditions_leaves_it_alone()
    {
        var original = File.ReadAllText(SummaryFile);
        const string before = "    action: update\n    set: { status: Shipped";
        Assert.Contains(before, original, StringComparison.Ordinal);
        string With(string where) => original.Replace(before, "    action: update\n    where: " + where + "\n    set: { status: Shipped", StringComparison.Ordinal);
        Assert.Equal(Fingerprint(With("{ trackingNumber: { nonEmpty: true }, orderId: { ne: $orderId } }")),
            Fingerprint(With("{ orderId: { ne: $orderId }, trackingNumber: { nonEmpty: true } }")));
        Assert.NotEqual(Fingerprint(With("{ trackingNumber: { nonEmpty: true } }")), Fingerprint(With("{ trackingNumber: { ne: x } }")));
    }

    // A condition reads its field as an upcast makes it, as a set: does.
    [Fact]
    public void a_changed_upcast_of_a_field_a_condition_reads_changes_it()
    {
        var order = File.ReadAllText(OrderFile);
        var summary = File.ReadAllText(SummaryFile);
        const string placed = "  OrderPlaced:\n    action: insert\n";
        Assert.Contains(placed, summary, StringComparison.Ordinal);
        summary = summary.Replace(placed, placed + "    where: { shippingMethod: { ne: EXPRESS } }\n", StringComparison.Ordinal);
        var express = order.Replace("shippingMethod: { default: STANDARD }", "shippingMethod: { default: EXPRESS }", StringComparison.Ordinal);
        Assert.NotEqual(order, express);
        Assert.NotEqual(
            Generated(new() { ["order.yaml"] = order, ["order-summary.yaml"] = summary }, "OrderSummary", DefinitionFingerprint),
            Generated(new() { ["order.yaml"] = express, ["order-summary.yaml"] = summary }, "OrderSummary", DefinitionFingerprint));
    }

    // OrderSummary reads `currency` of OrderPlaced, whose stored version-1 events get it from an
    // upcast default; CustomerOrders reads neither `currency` nor `shippingMethod`.
    [Fact]
    public void a_changed_upcast_of_a_field_a_handler_reads_changes_it_and_no_other_projection()
    {
        var order = File.ReadAllText(OrderFile);
        var usd = order.Replace("currency: { default: KRW }", "currency: { default: USD }", StringComparison.Ordinal);
        Assert.NotEqual(order, usd);
        Assert.NotEqual(Generated(order, "OrderSummary", DefinitionFingerprint), Generated(usd, "OrderSummary", DefinitionFingerprint));
        Assert.Equal(Generated(order, "CustomerOrders", DefinitionFingerprint), Generated(usd, "CustomerOrders", DefinitionFingerprint));

        var express = order.Replace("shippingMethod: { default: STANDARD }", "shippingMethod: { default: EXPRESS }", StringComparison.Ordinal);
        Assert.NotEqual(order, express);
        Assert.Equal(Generated(order, "OrderSummary", DefinitionFingerprint), Generated(express, "OrderSummary", DefinitionFingerprint));
    }

    // A snapshot is the fold of its stream: the Order's apply rules read both upcast fields.
    [Theory]
    [InlineData("currency: { default: KRW }", "currency: { default: USD }")]
    [InlineData("shippingMethod: { default: STANDARD }", "shippingMethod: { default: EXPRESS }")]
    [InlineData("apply: { status: Shipped, trackingNumber: $trackingNumber, changeCount: { increment: 1 } }", "apply: { status: Shipped, trackingNumber: $trackingNumber, changeCount: { increment: 2 } }")]
    public void a_changed_apply_rule_or_upcast_the_fold_reads_changes_the_snapshot_fingerprint(string before, string after)
    {
        var order = File.ReadAllText(OrderFile);
        Assert.Contains(before, order, StringComparison.Ordinal);
        Assert.NotEqual(Generated(order, "Order", SchemaFingerprint), Generated(order.Replace(before, after, StringComparison.Ordinal), "Order", SchemaFingerprint));
    }

    [Fact]
    public void comments_and_layout_of_the_aggregate_leave_the_snapshot_fingerprint_alone()
    {
        var order = File.ReadAllText(OrderFile);
        var relaid = "# a comment added above\n" + order.Replace("currency: { default: KRW }", "currency:\n            default: KRW", StringComparison.Ordinal);
        Assert.NotEqual(order, relaid);
        Assert.Equal(Generated(order, "Order", SchemaFingerprint), Generated(relaid, "Order", SchemaFingerprint));
    }

    // A change the fingerprint cannot see (an OnApplied hook, a hand-written upcaster's body) is
    // declared by raising the revision; revision 1 is what no revision means.
    [Fact]
    public void a_raised_projection_revision_changes_it_and_revision_1_does_not()
    {
        var original = File.ReadAllText(SummaryFile);
        const string key = "key: { name: orderId, type: guid }\n";
        Assert.Contains(key, original, StringComparison.Ordinal);
        var first = original.Replace(key, key + "revision: 1\n", StringComparison.Ordinal);
        var second = original.Replace(key, key + "revision: 2\n", StringComparison.Ordinal);
        var third = original.Replace(key, key + "revision: 3\n", StringComparison.Ordinal);
        Assert.Equal(Fingerprint(original), Fingerprint(first));
        Assert.NotEqual(Fingerprint(original), Fingerprint(second));
        Assert.NotEqual(Fingerprint(second), Fingerprint(third));
    }

    [Fact]
    public void a_raised_snapshot_revision_changes_the_snapshot_fingerprint_and_revision_1_does_not()
    {
        var order = File.ReadAllText(OrderFile);
        const string snapshot = "snapshot: { every: 50 }";
        Assert.Contains(snapshot, order, StringComparison.Ordinal);
        var fingerprint = Generated(order, "Order", SchemaFingerprint);
        Assert.Equal(fingerprint, Generated(order.Replace(snapshot, "snapshot: { every: 50, revision: 1 }", StringComparison.Ordinal), "Order", SchemaFingerprint));
        Assert.NotEqual(fingerprint, Generated(order.Replace(snapshot, "snapshot: { every: 50, revision: 2 }", StringComparison.Ordinal), "Order", SchemaFingerprint));
        // The snapshot's revision is the aggregate's; the projections that read its events keep theirs.
        Assert.Equal(Generated(order, "OrderSummary", DefinitionFingerprint),
            Generated(order.Replace(snapshot, "snapshot: { every: 50, revision: 2 }", StringComparison.Ordinal), "OrderSummary", DefinitionFingerprint));
    }

    static string Fingerprint(string summaryYaml) => Generated(summaryYaml, "OrderSummary", DefinitionFingerprint, "order-summary.yaml");

    static string Generated(string yaml, string typeName, Regex pattern, string? replacing = null) =>
        Generated(new Dictionary<string, string> { [replacing ?? "order.yaml"] = yaml }, typeName, pattern);

    static string Generated(Dictionary<string, string> replaced, string typeName, Regex pattern)
    {
        var texts = GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions)
            .Select(text => replaced.TryGetValue(Path.GetFileName(text.Path), out var yaml) ? new GeneratorHarness.InMemoryText(text.Path, yaml) : text)
            .ToImmutableArray();
        var (driver, _) = GeneratorHarness.Compiles(texts);
        return pattern.Match(GeneratorHarness.Source(driver, $"Shop.Orders.{typeName}.g.cs")).Groups[1].Value is { Length: 16 } fingerprint
            ? fingerprint
            : throw new Xunit.Sdk.XunitException($"no fingerprint in the generated {typeName}");
    }

    static readonly string OrderFile = Path.Combine(GeneratorHarness.OrdersDefinitions, "order.yaml");
    static readonly Regex DefinitionFingerprint = DefinitionFingerprintPattern();
    static readonly Regex SchemaFingerprint = SchemaFingerprintPattern();

    [GeneratedRegex("DefinitionFingerprint = \"([0-9a-f]+)\"")]
    private static partial Regex DefinitionFingerprintPattern();

    [GeneratedRegex("SchemaFingerprint => \"([0-9a-f]+)\"")]
    private static partial Regex SchemaFingerprintPattern();
}
