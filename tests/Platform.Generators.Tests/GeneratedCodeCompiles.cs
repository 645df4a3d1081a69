using Microsoft.CodeAnalysis;
using Xunit;

namespace Platform.Generators.Tests;

public class GeneratedCodeCompiles
{
    [Fact]
    public void orders_example_generates_code_that_compiles_without_any_diagnostic()
    {
        var (_, output, diagnostics) = GeneratorHarness.Run(GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions));

        Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var generated = output.SyntaxTrees.Select(t => Path.GetFileName(t.FilePath)).ToList();
        // One source per definition file, named after the definition, plus the registration.
        Assert.Contains("Shop.Orders.Order.g.cs", generated);
        Assert.Contains("Shop.Payments.Payments.g.cs", generated);
        Assert.Contains("Shop.Orders.OrderSummary.g.cs", generated);
        Assert.Contains("Shop.Orders.OrderFulfilment.g.cs", generated);
        Assert.Contains("Shop.Orders.OrdersDomain.g.cs", generated);

        var compileDiagnostics = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(compileDiagnostics.Count == 0, string.Join("\n", compileDiagnostics.Take(30)));
    }
}

public class HintNames
{
    [Fact]
    public void two_reactions_files_with_the_same_file_name_both_generate()
    {
        // Reactions files have no declared name, so their file names may repeat across folders.
        var texts = GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions)
            .Add(new GeneratorHarness.InMemoryText("other/reactions.yaml", """
                reactions:
                  NotifyWarehouseWhenShipmentArranged:
                    when: ShipmentArranged
                    send: NotifyWarehouse
                namespace: Shop.Orders
                """));
        var (driver, output, diagnostics) = GeneratorHarness.Run(texts);

        Assert.Empty(diagnostics);
        var hints = driver.GetRunResult().Results.Single().GeneratedSources.Select(s => s.HintName).ToList();
        Assert.Contains("Shop.Orders.ShipOrderWhenShipmentArranged.g.cs", hints);
        Assert.Contains("Shop.Orders.NotifyWarehouseWhenShipmentArranged.g.cs", hints);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error));
    }
}

public class UnexpectedEventPolicies
{
    [Theory]
    [InlineData("ignore", "var deadLetter = false; // onUnexpected: ignore")]
    [InlineData("deadLetter", "var deadLetter = true; // onUnexpected: deadLetter")]
    public void the_declared_policy_decides_what_the_saga_does_with_an_event_its_state_does_not_handle(string policy, string emitted)
    {
        var fulfilment = Path.Combine(GeneratorHarness.OrdersDefinitions, "fulfilment.yaml");
        var yaml = File.ReadAllText(fulfilment);
        Assert.Contains("onUnexpected: ignore", yaml, StringComparison.Ordinal);
        var loaded = GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions);
        var original = loaded.Single(t => t.Path.EndsWith("/fulfilment.yaml", StringComparison.Ordinal));
        var texts = loaded.Remove(original)
            .Add(new GeneratorHarness.InMemoryText(original.Path, yaml.Replace("onUnexpected: ignore", "onUnexpected: " + policy, StringComparison.Ordinal)));
        var (driver, output, diagnostics) = GeneratorHarness.Run(texts);

        Assert.Empty(diagnostics);
        var saga = driver.GetRunResult().Results.Single().GeneratedSources.Single(s => s.HintName == "Shop.Orders.OrderFulfilment.g.cs");
        Assert.Contains(emitted, saga.SourceText.ToString(), StringComparison.Ordinal);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error));
    }
}
