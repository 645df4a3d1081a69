using Platform.Definitions.Checks;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Loading;
using Xunit;

namespace Platform.Definitions.Tests;

public sealed class LockTests
{
    private const string Published = """
        contracts: Billing
        namespace: Shop.Billing
        events:
          InvoicePaid:
            type: shop.billing.invoice-paid
            compatibility: MODE
            version: 1
            fields: { invoiceId: guid, amount: decimal }
        """;

    private static DefinitionSet Set(string yaml)
    {
        var loaded = DefinitionLoader.Load("billing.yaml", yaml);
        Assert.Empty(loaded.Diagnostics);
        var result = DefinitionSet.Check(new[] { loaded.Value! });
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Diagnostics.DiagnosticSeverity.Error);
        return result.Value!;
    }

    private static LockFile LockOf(string yaml) =>
        LockFileFormat.Read("definitions.lock.json", LockFileFormat.Write(CompatibilityLock.Accept(Set(yaml), "definitions.lock.json"))).Value!;

    private static List<string> Codes(string lockedYaml, string currentYaml) =>
        CompatibilityLock.Check(Set(currentYaml), LockOf(lockedYaml)).Select(d => d.Code).ToList();

    [Fact]
    public void the_committed_orders_lock_is_up_to_date()
    {
        var set = DefinitionSet.Check(Corpus.Orders).Value!;
        var path = Path.Combine(Paths.OrdersDefinitions, LockFileFormat.FileName);
        Assert.Equal(File.ReadAllText(path), LockFileFormat.Write(CompatibilityLock.Accept(set, path)));
        var lockFile = LockFileFormat.Read(path, File.ReadAllText(path));
        Assert.Empty(lockFile.Diagnostics);
        Assert.Empty(CompatibilityLock.Check(set, lockFile.Value));
    }

    [Fact]
    public void writing_and_reading_a_lock_round_trips()
    {
        var original = CompatibilityLock.Accept(Set(Published.Replace("MODE", "FULL")), "definitions.lock.json");
        var text = LockFileFormat.Write(original);
        var read = LockFileFormat.Read("definitions.lock.json", text).Value!;
        Assert.Equal(text, LockFileFormat.Write(read));
        var locked = Assert.Single(read.Events);
        Assert.Equal(Model.CompatibilityMode.Full, locked.Compatibility);
        Assert.StartsWith("sha256:", Assert.Single(locked.Versions).Fingerprint);
    }

    [Fact]
    public void an_unchanged_definition_has_no_lock_diagnostics()
    {
        var yaml = Published.Replace("MODE", "BACKWARD_TRANSITIVE");
        Assert.Empty(Codes(yaml, yaml));
    }

    [Fact]
    public void a_version_missing_from_the_lock_is_a_warning()
    {
        var yaml = Published.Replace("MODE", "BACKWARD_TRANSITIVE");
        var diagnostic = Assert.Single(CompatibilityLock.Check(Set(yaml), null));
        Assert.Equal(("PLT0803", Diagnostics.DiagnosticSeverity.Warning), (diagnostic.Code, diagnostic.Severity));
    }

    [Fact]
    public void editing_a_published_version_in_place_is_an_error_at_its_version()
    {
        var locked = Published.Replace("MODE", "BACKWARD_TRANSITIVE");
        var edited = locked.Replace("amount: decimal", "amount: decimal, note: string?");
        var diagnostic = Assert.Single(CompatibilityLock.Check(Set(edited), LockOf(locked)));
        Assert.Equal(("PLT0801", 7, 14), (diagnostic.Code, diagnostic.Span.StartLine, diagnostic.Span.StartColumn));
    }

    [Fact]
    public void changing_a_shared_value_type_changes_the_fingerprint_of_events_using_it()
    {
        var locked = "contracts: T\nnamespace: N\ntypes:\n  Money: { amount: decimal, currency: string }\nevents:\n  Paid: { fields: { price: Money } }\n";
        Assert.Equal(new[] { "PLT0801" }, Codes(locked, locked.Replace("currency: string", "currency: string, rate: decimal?")));
    }

    [Fact]
    public void deleting_a_published_event_is_an_error()
    {
        var locked = Published.Replace("MODE", "BACKWARD_TRANSITIVE");
        var renamed = locked.Replace("type: shop.billing.invoice-paid", "type: shop.billing.invoice-settled");
        Assert.Equal(new[] { "PLT0802", "PLT0803" }, Codes(locked, renamed).Order().ToArray());
    }

    [Fact]
    public void deleting_an_old_version_is_allowed_in_backward_mode_but_not_in_backward_transitive()
    {
        const string twoVersions = """
            contracts: Billing
            namespace: Shop.Billing
            events:
              InvoicePaid:
                type: shop.billing.invoice-paid
                compatibility: MODE
                version: 3
                fields: { invoiceId: guid, amount: decimal }
                previous:
                  - version: 1
                    fields: { invoiceId: guid }
                    upcast: { amount: { default: 0 } }
                  - version: 2
                    fields: { invoiceId: guid, amount: decimal }
            """;
        string Without(string mode) => twoVersions.Replace("MODE", mode).Replace("      - version: 1\n        fields: { invoiceId: guid }\n        upcast: { amount: { default: 0 } }\n", "");
        Assert.Empty(Codes(twoVersions.Replace("MODE", "BACKWARD"), Without("BACKWARD")));
        Assert.Equal(new[] { "PLT0802" }, Codes(twoVersions.Replace("MODE", "BACKWARD_TRANSITIVE"), Without("BACKWARD_TRANSITIVE")));
    }

    [Theory]
    // A new required field is fine when the upcast supplies it.
    [InlineData("BACKWARD_TRANSITIVE", "fields: { invoiceId: guid, amount: decimal, currency: string }", "upcast: { currency: { default: KRW } }", null)]
    // Removing a required field breaks old consumers (forward), not new readers (backward).
    [InlineData("FORWARD", "fields: { invoiceId: guid }", "", "PLT0804")]
    [InlineData("BACKWARD", "fields: { invoiceId: guid }", "upcast: { amount: remove }", null)]
    [InlineData("FULL", "fields: { invoiceId: guid }", "upcast: { amount: remove }", "PLT0804")]
    // An optional addition is compatible both ways.
    [InlineData("FULL", "fields: { invoiceId: guid, amount: decimal, note: string? }", "", null)]
    // NONE accepts anything.
    [InlineData("NONE", "fields: { invoiceId: string }", "upcaster: InvoicePaidV1Upcaster", null)]
    public void a_new_version_is_checked_against_the_published_one_by_mode(string mode, string newFields, string upcast, string? expected)
    {
        var locked = Published.Replace("MODE", mode);
        var next = $"""
            contracts: Billing
            namespace: Shop.Billing
            events:
              InvoicePaid:
                type: shop.billing.invoice-paid
                compatibility: {mode}
                version: 2
                {newFields}
                previous:
                  - version: 1
                    fields: {"{"} invoiceId: guid, amount: decimal {"}"}
                    {upcast}
            """;
        var codes = Codes(locked, next).Where(code => code != "PLT0803").ToList();
        Assert.Equal(expected is null ? Array.Empty<string>() : new[] { expected }, codes);
    }

    [Fact]
    public void a_new_required_field_hidden_by_editing_the_old_version_is_still_incompatible()
    {
        var locked = Published.Replace("MODE", "BACKWARD_TRANSITIVE");
        // v1 is edited to claim it always had 'currency', so the definitions alone look consistent.
        var next = """
            contracts: Billing
            namespace: Shop.Billing
            events:
              InvoicePaid:
                type: shop.billing.invoice-paid
                version: 2
                fields: { invoiceId: guid, amount: decimal, currency: string }
                previous:
                  - version: 1
                    fields: { invoiceId: guid, amount: decimal, currency: string }
            """;
        var diagnostics = CompatibilityLock.Check(Set(next), LockOf(locked)).Where(d => d.Code != "PLT0803").ToList();
        Assert.Equal(new[] { "PLT0801", "PLT0804" }, diagnostics.Select(d => d.Code).Order().ToArray());
        Assert.Contains("'currency' has no default", diagnostics.Single(d => d.Code == "PLT0804").Message);
    }

    [Theory]
    [InlineData("{ \"events\": 3 }")]
    [InlineData("{ \"events\": [ { \"type\": \"a\" } ] }")]
    [InlineData("{ \"events\": [ ")]
    public void a_damaged_lock_file_is_reported(string text)
    {
        var result = LockFileFormat.Read("definitions.lock.json", text);
        Assert.Null(result.Value);
        Assert.Equal("PLT0805", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void a_build_checks_the_lock_from_its_text()
    {
        var yaml = Published.Replace("MODE", "BACKWARD_TRANSITIVE");
        var text = LockFileFormat.Write(CompatibilityLock.Accept(Set(yaml), "definitions.lock.json"));
        Assert.Empty(CompatibilityLock.Check(Set(yaml), "definitions.lock.json", text));
        Assert.Equal("PLT0803", Assert.Single(CompatibilityLock.Check(Set(yaml), "definitions.lock.json", null)).Code);
        Assert.Equal("PLT0805", Assert.Single(CompatibilityLock.Check(Set(yaml), "definitions.lock.json", "{")).Code);
    }
}
