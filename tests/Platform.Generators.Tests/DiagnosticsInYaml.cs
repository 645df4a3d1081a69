using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>Invalid definitions give diagnostics at the YAML line and column, the same codes as <c>platform validate</c>, and no code.</summary>
public class DiagnosticsInYaml
{
    static (ImmutableArray<Diagnostic> Diagnostics, int Sources) Run(params (string Path, string Text)[] files)
    {
        var texts = files.Select(f => (AdditionalText)new GeneratorHarness.InMemoryText(f.Path, f.Text)).ToImmutableArray();
        var (driver, _, diagnostics) = GeneratorHarness.Run(texts);
        return (diagnostics, driver.GetRunResult().Results.Single().GeneratedSources.Length);
    }

    [Fact]
    public void malformed_yaml_is_reported_at_its_position_and_nothing_is_generated()
    {
        var (diagnostics, sources) = Run(("defs/bad.yaml", "aggregate: Order\nnamespace: Shop\n\tstate: {}\n"));
        Assert.Contains(diagnostics, d => d.Id.StartsWith("PLT01", StringComparison.Ordinal) && d.Location.GetLineSpan().StartLinePosition.Line == 2);
        Assert.Equal(0, sources);
    }

    [Fact]
    public void an_unknown_event_in_a_command_is_reported_where_it_is_written()
    {
        var yaml = """
            aggregate: Order
            namespace: Shop.Orders
            id: { name: orderId, type: guid }
            state:
              status: { enum: [Placed] }
            commands:
              PlaceOrder: { creates: true, emits: OrderPlacd }
            events:
              OrderPlaced: { apply: { status: Placed } }
            """;
        var (diagnostics, sources) = Run(("defs/order.yaml", yaml));
        var diagnostic = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("defs/order.yaml", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(6, diagnostic.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Contains("OrderPlacd", diagnostic.GetMessage());
        Assert.Equal(0, sources);
    }

    [Fact]
    public void an_identifier_that_would_inject_code_never_reaches_the_output()
    {
        var yaml = "aggregate: Order\nnamespace: \"Shop; class X {}\"\nid: { name: orderId, type: guid }\nstate: { total: int }\n";
        var (diagnostics, sources) = Run(("defs/evil.yaml", yaml));
        var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("PLT0206", error.Id);
        Assert.Equal("defs/evil.yaml", error.Location.GetLineSpan().Path);
        Assert.Equal((1, 11), (error.Location.GetLineSpan().StartLinePosition.Line, error.Location.GetLineSpan().StartLinePosition.Character));
        Assert.Equal(0, sources);
    }
}

/// <summary>The compatibility lock is checked by the build when the project lists it.</summary>
public class LockInBuild
{
    static ImmutableArray<AdditionalText> WithLock(Func<string, string>? editOrderYaml = null, string file = "/order.yaml")
    {
        var texts = GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions)
            .Select(t => t.Path.EndsWith(file, StringComparison.Ordinal) && editOrderYaml is not null
                ? new GeneratorHarness.InMemoryText(t.Path, editOrderYaml(t.GetText()!.ToString()))
                : t)
            .ToImmutableArray();
        var lockPath = Path.Combine(GeneratorHarness.OrdersDefinitions, "definitions.lock.json");
        return texts.Add(new GeneratorHarness.InMemoryText("examples/Orders/definitions/definitions.lock.json", File.ReadAllText(lockPath)));
    }

    [Fact]
    public void the_committed_lock_accepts_the_orders_example()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(WithLock());
        Assert.Empty(diagnostics);
    }

    [Fact]
    public void editing_a_published_event_version_in_place_fails_the_build_at_that_version()
    {
        var original = File.ReadAllText(Path.Combine(GeneratorHarness.OrdersDefinitions, "order.yaml"));
        // Published as optional, made required in place: the lock's fingerprint no longer matches.
        var edited = original.Replace("          currency: string?\n", "          currency: string\n");
        Assert.NotEqual(original, edited);
        var (driver, _, diagnostics) = GeneratorHarness.Run(WithLock(_ => edited));

        var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.StartsWith("PLT08", error.Id);
        var span = error.Location.GetLineSpan();
        Assert.EndsWith("order.yaml", span.Path);
        var versionLine = edited.Split('\n').ToList().FindIndex(l => l.Contains("- version: 1"));
        Assert.InRange(span.StartLinePosition.Line, versionLine, versionLine + 6);
        Assert.Empty(driver.GetRunResult().Results.Single().GeneratedSources);
    }

    [Fact]
    public void renaming_a_deployed_saga_state_fails_the_build_in_the_saga_file()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(WithLock(yaml => yaml.Replace("AwaitingShipment", "AwaitingDelivery", StringComparison.Ordinal),
            "/fulfilment.yaml"));
        var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("PLT0807", error.Id);
        Assert.EndsWith("fulfilment.yaml", error.Location.GetLineSpan().Path);
        Assert.Contains("'AwaitingShipment'", error.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }
}
