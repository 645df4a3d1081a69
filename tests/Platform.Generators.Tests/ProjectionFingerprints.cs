using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A projection's <c>DefinitionFingerprint</c>, which makes the runtime rebuild its table, changes
/// with what the table and its rows depend on, and not with how the YAML is written.
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
    public void a_changed_field_type_value_or_action_changes_it(string before, string after)
    {
        var original = File.ReadAllText(SummaryFile);
        Assert.Contains(before, original, StringComparison.Ordinal);
        Assert.NotEqual(Fingerprint(original), Fingerprint(original.Replace(before, after, StringComparison.Ordinal)));
    }

    static string Fingerprint(string summaryYaml)
    {
        var texts = GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions)
            .Select(text => text.Path.EndsWith("order-summary.yaml", StringComparison.Ordinal) ? new GeneratorHarness.InMemoryText(text.Path, summaryYaml) : text)
            .ToImmutableArray();
        var (driver, _, diagnostics) = GeneratorHarness.Run(texts);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        var source = driver.GetRunResult().Results.Single().GeneratedSources.Single(s => s.HintName == "Shop.Orders.OrderSummary.g.cs");
        return FingerprintPattern().Match(source.SourceText.ToString()).Groups[1].Value is { Length: 16 } fingerprint
            ? fingerprint
            : throw new Xunit.Sdk.XunitException("no DefinitionFingerprint in the generated projection");
    }

    [GeneratedRegex("DefinitionFingerprint = \"([0-9a-f]+)\"")]
    private static partial Regex FingerprintPattern();
}
