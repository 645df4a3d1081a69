using Platform.Definitions.Compatibility;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>
/// <see cref="DeclarationText.Lineage"/>: a field's lineage changes with every upcast step on its
/// way back through the stored versions, and with nothing that does not reach it.
/// </summary>
public sealed class LineageTests
{
    // v1 { amount, note } -> v2 renames amount to total -> v3 { total, currency, note } with a currency default.
    const string Payment = """
        aggregate: Payment
        namespace: Shop.Payments
        id: { name: paymentId, type: guid }
        state: { total: decimal }
        commands:
          Pay:
            creates: true
            fields: { total: decimal, currency: string, note: string }
            emits: Paid
        events:
          Paid:
            type: shop.payments.paid
            version: 3
            fields: { total: decimal, currency: string, note: string }
            apply: { total: $total }
            previous:
              - version: 1
                fields: { amount: decimal, note: string }
                upcast:
                  total: { rename: amount }
              - version: 2
                fields: { total: decimal, note: string }
                upcast:
                  currency: { default: EUR }
        """;

    static EventDefinition Paid(string yaml)
    {
        var loaded = DefinitionLoader.Load("payment.yaml", yaml);
        Assert.Empty(loaded.Diagnostics);
        return loaded.Value!.Aggregate!.Events.Single();
    }

    [Fact]
    public void a_rename_is_followed_back_to_the_oldest_version()
    {
        var paid = Paid(Payment);
        Assert.Equal("v1{total=rename:amount;}", DeclarationText.Lineage(paid, "total"));
        var renamedElsewhere = Paid(Payment.Replace("total: { rename: amount }", "total: { compute: $amount }", StringComparison.Ordinal));
        Assert.NotEqual(DeclarationText.Lineage(paid, "total"), DeclarationText.Lineage(renamedElsewhere, "total"));
    }

    [Fact]
    public void a_step_changes_the_lineage_of_the_field_it_makes_and_of_no_other()
    {
        var paid = Paid(Payment);
        var dollars = Paid(Payment.Replace("default: EUR", "default: USD", StringComparison.Ordinal));
        Assert.NotEqual(DeclarationText.Lineage(paid, "currency"), DeclarationText.Lineage(dollars, "currency"));
        Assert.Equal(DeclarationText.Lineage(paid, "total"), DeclarationText.Lineage(dollars, "total"));
        Assert.Equal(DeclarationText.Lineage(paid, "note"), DeclarationText.Lineage(dollars, "note"));
    }

    [Fact]
    public void a_hand_written_upcaster_makes_every_older_version_count()
    {
        var byHand = Payment.Replace("upcast:\n          currency: { default: EUR }", "upcaster: CurrencyFromRegion", StringComparison.Ordinal);
        Assert.NotEqual(Payment, byHand);
        var paid = Paid(byHand);
        var lineage = DeclarationText.Lineage(paid, "note");
        Assert.Contains("upcaster=CurrencyFromRegion", lineage, StringComparison.Ordinal);
        var olderEdited = Paid(byHand.Replace("total: { rename: amount }", "total: { compute: $amount }", StringComparison.Ordinal));
        Assert.NotEqual(lineage, DeclarationText.Lineage(olderEdited, "note"));
    }

    [Fact]
    public void a_new_version_that_copies_a_field_leaves_its_lineage_alone()
    {
        var paid = Paid(Payment);
        var fourth = Paid(Payment
            .Replace("version: 3\n    fields: { total: decimal, currency: string, note: string }", "version: 4\n    fields: { total: decimal, currency: string, note: string, region: string? }", StringComparison.Ordinal)
            .Replace("    previous:\n", "    previous:\n      - version: 3\n        fields: { total: decimal, currency: string, note: string }\n", StringComparison.Ordinal));
        Assert.Equal(4, fourth.Version);
        Assert.Equal(DeclarationText.Lineage(paid, "total"), DeclarationText.Lineage(fourth, "total"));
        Assert.Equal(DeclarationText.Lineage(paid, "currency"), DeclarationText.Lineage(fourth, "currency"));
        Assert.Equal("", DeclarationText.Lineage(fourth, "note"));
        Assert.Equal("v3{region=absent;}", DeclarationText.Lineage(fourth, "region"));
    }

    [Fact]
    public void an_event_without_earlier_versions_has_no_lineage() =>
        Assert.Equal("", DeclarationText.Lineage(Paid(Payment[..Payment.IndexOf("    previous:", StringComparison.Ordinal)].Replace("version: 3", "version: 1", StringComparison.Ordinal)), "total"));
}
