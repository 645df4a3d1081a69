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

    // Sagas: the Orders example's fulfilment saga as locked, against edited copies of its file.
    private static readonly string Fulfilment = Path.Combine(Paths.OrdersDefinitions, "fulfilment.yaml");

    private static DefinitionSet OrdersWith(string fulfilmentYaml)
    {
        var files = Corpus.Orders.Where(f => !f.Path.EndsWith("fulfilment.yaml", StringComparison.Ordinal)).ToList();
        var loaded = DefinitionLoader.Load(Fulfilment, fulfilmentYaml);
        Assert.Empty(loaded.Diagnostics);
        files.Add(loaded.Value!);
        var result = DefinitionSet.Check(files);
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == Diagnostics.DiagnosticSeverity.Error);
        return result.Value!;
    }

    private static List<Diagnostics.DiagnosticInfo> SagaDiagnostics(Func<string, string> edit, Func<string, string>? asLocked = null)
    {
        var original = (asLocked ?? (yaml => yaml))(File.ReadAllText(Fulfilment));
        var edited = edit(original);
        Assert.NotEqual(original, edited);
        var locked = LockFileFormat.Read("definitions.lock.json",
            LockFileFormat.Write(CompatibilityLock.Accept(OrdersWith(original), "definitions.lock.json"))).Value!;
        return CompatibilityLock.Check(OrdersWith(edited), locked).Where(d => d.Code is "PLT0806" or "PLT0807" or "PLT0808" or "PLT0809" or "PLT0810").ToList();
    }

    [Fact]
    public void the_orders_lock_records_the_fulfilment_sagas_states_and_data()
    {
        var path = Path.Combine(Paths.OrdersDefinitions, LockFileFormat.FileName);
        var saga = Assert.Single(LockFileFormat.Read(path, File.ReadAllText(path)).Value!.Sagas!.Value);
        Assert.Equal("OrderFulfilment", saga.Saga);
        // The compensating states are the machine's own: instances wait in them too.
        Assert.Contains("CompensatingPayment", saga.States);
        Assert.Contains("AwaitingShipment", saga.States);
        Assert.Contains(saga.Data, f => f.Name == "paymentId" && f.Type == "guid?");
    }

    [Fact]
    public void a_lock_without_sagas_checks_none_until_the_next_lock()
    {
        var set = DefinitionSet.Check(Corpus.Orders).Value!;
        var path = Path.Combine(Paths.OrdersDefinitions, LockFileFormat.FileName);
        var withoutSagas = CompatibilityLock.Accept(set, path) with { Sagas = null };
        Assert.DoesNotContain("\"sagas\"", LockFileFormat.Write(withoutSagas), StringComparison.Ordinal);
        Assert.Null(LockFileFormat.Read(path, LockFileFormat.Write(withoutSagas)).Value!.Sagas);
        Assert.Empty(CompatibilityLock.Check(set, withoutSagas));
    }

    [Fact]
    public void removing_a_state_stored_instances_can_be_in_is_an_error_naming_it()
    {
        // The shipping step waits in its own state; renaming it strands the instances waiting there.
        var diagnostics = SagaDiagnostics(yaml => yaml.Replace("AwaitingShipment", "AwaitingDelivery", StringComparison.Ordinal));
        var removed = Assert.Single(diagnostics, d => d.Code == "PLT0807");
        Assert.Contains("State 'AwaitingShipment' of saga 'OrderFulfilment'", removed.Message, StringComparison.Ordinal);
        Assert.Contains("platform sagas list --saga OrderFulfilment --state AwaitingShipment", removed.Message, StringComparison.Ordinal);
        Assert.EndsWith("fulfilment.yaml", removed.Span.Path, StringComparison.Ordinal);
        Assert.Contains(diagnostics, d => d.Code == "PLT0809" && d.Message.Contains("state AwaitingDelivery", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("  note: string?\n", "  note: int?\n", "'note' changed from string? to int?")]
    [InlineData("  note: string?\n", "  note: string\n", "'note' became required, and instances stored without a value have none")]
    [InlineData("  note: string?\n", "  note: string?\n  giftWrap: bool\n", "the new required field 'giftWrap' has no value in them; declare it optional (bool?)")]
    public void a_data_change_stored_instances_cannot_be_read_with_is_an_error_at_the_field(string locked, string edited, string reason)
    {
        // A field of the saga's own (no step reads or keeps it), as deployed.
        static string WithNote(string yaml) => yaml.Replace("  trackingNumber: string?\n", "  trackingNumber: string?\n  note: string?\n", StringComparison.Ordinal);
        var diagnostic = Assert.Single(SagaDiagnostics(yaml => yaml.Replace(locked, edited, StringComparison.Ordinal), WithNote),
            d => d.Code != "PLT0809");
        Assert.Equal(("PLT0808", Diagnostics.DiagnosticSeverity.Error), (diagnostic.Code, diagnostic.Severity));
        Assert.Equal($"Saga 'OrderFulfilment' could not load the instances stored before this change: {reason}.", diagnostic.Message);
        // At the field's line, not the saga's.
        Assert.True(diagnostic.Span.StartLine > 10, $"line {diagnostic.Span.StartLine}");
    }

    [Fact]
    public void what_only_adds_to_a_saga_is_a_warning_until_locked()
    {
        var diagnostic = Assert.Single(SagaDiagnostics(yaml => yaml
            .Replace("  trackingNumber: string?\n", "  trackingNumber: string?\n  note: string?\n", StringComparison.Ordinal)));
        Assert.Equal(("PLT0809", Diagnostics.DiagnosticSeverity.Warning), (diagnostic.Code, diagnostic.Severity));
        Assert.Contains("(field note)", diagnostic.Message, StringComparison.Ordinal);
    }

    // A stored instance's skip mark is read only for a step that can be skipped: one that no longer
    // can is compensated as if it ran, in instances that skipped it.
    const string ChargeOnlyWhatCosts = "    when: { totalAmount: { gt: 0 } }\n    send: ChargePayment";

    [Fact]
    public void a_step_that_could_be_skipped_and_no_longer_can_is_an_error_at_the_step()
    {
        static string Conditional(string yaml) => yaml.Replace("    send: ChargePayment", ChargeOnlyWhatCosts, StringComparison.Ordinal);
        var diagnostic = Assert.Single(SagaDiagnostics(yaml => yaml.Replace(ChargeOnlyWhatCosts, "    send: ChargePayment", StringComparison.Ordinal), Conditional));
        Assert.Equal(("PLT0810", Diagnostics.DiagnosticSeverity.Error), (diagnostic.Code, diagnostic.Severity));
        Assert.StartsWith("Step 'Payment' of saga 'OrderFulfilment' could be skipped in the locked build", diagnostic.Message, StringComparison.Ordinal);
        Assert.True(CompatibilityLock.IsSagaChange(diagnostic));
        // Made skippable: a warning until locked, and the lock records it (only then: the Orders lock has no such key).
        var added = Assert.Single(SagaDiagnostics(Conditional));
        Assert.Equal("PLT0809", added.Code);
        Assert.Contains("step Payment skippable", added.Message, StringComparison.Ordinal);
        var written = LockFileFormat.Write(CompatibilityLock.Accept(OrdersWith(Conditional(File.ReadAllText(Fulfilment))), "definitions.lock.json"));
        Assert.Contains("\"skippable\": [\"Payment\"],", written, StringComparison.Ordinal);
        Assert.Equal(["Payment"], LockFileFormat.Read("definitions.lock.json", written).Value!.Sagas!.Value.Single().Skippable);
        Assert.DoesNotContain("skippable", File.ReadAllText(Path.Combine(Paths.OrdersDefinitions, LockFileFormat.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void removing_a_locked_saga_is_an_error_at_its_lock_entry()
    {
        var set = DefinitionSet.Check(Corpus.Orders).Value!;
        var locked = CompatibilityLock.Accept(set, "definitions.lock.json");
        var text = LockFileFormat.Write(locked).Replace("\"saga\": \"OrderFulfilment\"", "\"saga\": \"RetiredSaga\"", StringComparison.Ordinal);
        var read = LockFileFormat.Read("definitions.lock.json", text).Value!;
        var codes = CompatibilityLock.Check(set, read).Select(d => (d.Code, d.Span.Path)).ToList();
        Assert.Contains(("PLT0806", "definitions.lock.json"), codes);
        Assert.Contains(codes, c => c.Code == "PLT0809");
    }
}
