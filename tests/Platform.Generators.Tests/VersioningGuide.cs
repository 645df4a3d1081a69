using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Workspace;
using Platform.Events;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Issue 9, "a new event version added by following the versioning guide works end to end": the
/// steps of docs/guides/versioning-an-event.md done on a copy of the Orders definitions. The guide
/// shows the files under Guides/Versioning (snippet markers keep the two equal), and this test puts
/// them into the copy, checks it against the example's lock as `platform validate` does, runs the
/// generator, compiles, and reads events stored at versions 1 and 2 as version 3.
/// </summary>
public class VersioningGuide
{
    static readonly string Guide = Path.Combine(GeneratorHarness.RepositoryRoot, "tests", "Platform.Generators.Tests", "Guides", "Versioning");

    // As stored by older builds: v1 had no shipping method and an optional currency, v2 had no gift wrap.
    static readonly byte[] StoredV1 = """{"customerId":"c-1","items":[{"productId":"p-1","quantity":2,"price":5.5}],"totalAmount":11,"shippingAddress":"Seoul"}"""u8.ToArray();
    static readonly byte[] StoredV2 = """{"customerId":"c-2","items":[],"totalAmount":20,"shippingAddress":"Busan","currency":"USD","shippingMethod":"EXPRESS"}"""u8.ToArray();

    [Fact]
    public void a_version_added_with_a_declared_upcast_passes_the_lock_check_and_reads_old_events_as_the_new_version()
    {
        var order = Edited("v3");

        using var copy = new DefinitionsCopy(order);
        var diagnostics = DefinitionDirectory.Load(copy.Path).Validate();
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        // Not yet published: `platform lock` is the guide's last step.
        Assert.Contains(diagnostics, d => d.Code == "PLT0803" && d.Message.Contains("OrderPlaced", StringComparison.Ordinal));
        var locked = DefinitionDirectory.Load(copy.Path).Lock();
        Assert.True(locked.Written, string.Join("\n", locked.Errors.Select(e => e.ToCanonicalString())));
        Assert.Contains("\"giftWrap\": \"bool\"", File.ReadAllText(Path.Combine(copy.Path, "definitions.lock.json")), StringComparison.Ordinal);
        Assert.DoesNotContain(DefinitionDirectory.Load(copy.Path).Validate(), d => d.Severity != DiagnosticSeverity.Info);

        var descriptor = Descriptor(Compile(order));
        Assert.Equal(3, descriptor.SchemaVersion);

        dynamic fromV1 = descriptor.Deserialize(StoredV1, storedSchemaVersion: 1);
        Assert.Equal("c-1", (string)fromV1.CustomerId);
        Assert.Equal("KRW", (string)fromV1.Currency);
        Assert.Equal("STANDARD", (string)fromV1.ShippingMethod);
        Assert.False((bool)fromV1.GiftWrap);
        Assert.Equal(2, (int)((IEnumerable)fromV1.Items).Cast<dynamic>().Single().Quantity);

        dynamic fromV2 = descriptor.Deserialize(StoredV2, storedSchemaVersion: 2);
        Assert.Equal("USD", (string)fromV2.Currency);
        Assert.Equal("EXPRESS", (string)fromV2.ShippingMethod);
        Assert.False((bool)fromV2.GiftWrap);

        dynamic current = descriptor.Deserialize("""{"customerId":"c-3","items":[],"totalAmount":1,"shippingAddress":"a","currency":"EUR","shippingMethod":"STANDARD","giftWrap":true}"""u8, 3);
        Assert.True((bool)current.GiftWrap);

        // As a transport of another build carries it: an object of that version's record (here read
        // by System.Text.Json, as MassTransit reads a message), upcast along the same chain.
        Assert.Equal(descriptor.ClrType, descriptor.ClrTypeOf(3));
        Assert.Equal(["OrderPlacedV1", "OrderPlacedV2"], new[] { 1, 2 }.Select(v => descriptor.ClrTypeOf(v)!.Name));
        Assert.Null(descriptor.ClrTypeOf(4));
        var web = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web);
        dynamic upcastV1 = descriptor.Upcast(System.Text.Json.JsonSerializer.Deserialize(StoredV1, descriptor.ClrTypeOf(1)!, web)!);
        Assert.Equal(("c-1", "KRW", "STANDARD", false), ((string)upcastV1.CustomerId, (string)upcastV1.Currency, (string)upcastV1.ShippingMethod, (bool)upcastV1.GiftWrap));
        dynamic upcastV2 = descriptor.Upcast(System.Text.Json.JsonSerializer.Deserialize(StoredV2, descriptor.ClrTypeOf(2)!, web)!);
        Assert.Equal(("USD", "EXPRESS"), ((string)upcastV2.Currency, (string)upcastV2.ShippingMethod));
        Assert.Same(current, descriptor.Upcast(current));
        Assert.Throws<ArgumentException>(() => descriptor.Upcast("not an order placed"));
    }

    [Fact]
    public void the_same_version_without_its_upcast_is_refused()
    {
        // The guide's warning: a new required field with no way to fill it for old events.
        var removed = false;
        var order = Edited("v3", fragment =>
        {
            var without = fragment.Replace("        upcast:\n          giftWrap: { default: false }\n", "", StringComparison.Ordinal);
            removed = without != fragment;
            return without;
        });
        Assert.True(removed);

        using var copy = new DefinitionsCopy(order);
        var missing = Assert.Single(DefinitionDirectory.Load(copy.Path).Validate(), d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("PLT0404", missing.Code);
        Assert.Contains("giftWrap", missing.Message, StringComparison.Ordinal);
        Assert.False(DefinitionDirectory.Load(copy.Path).Lock().Written);
    }

    [Fact]
    public void a_version_with_a_hand_written_upcaster_compiles_with_it_and_reads_old_events_through_it()
    {
        var order = Edited("v3-upcaster");
        using (var copy = new DefinitionsCopy(order))
            Assert.DoesNotContain(DefinitionDirectory.Load(copy.Path).Validate(), d => d.Severity == DiagnosticSeverity.Error);

        var descriptor = Descriptor(Compile(order, File.ReadAllText(Path.Combine(Guide, "OrderPlacedUpcasts.cs"))));

        dynamic express = descriptor.Deserialize(StoredV2, storedSchemaVersion: 2);
        Assert.True((bool)express.Priority);
        dynamic fromV1 = descriptor.Deserialize(StoredV1, storedSchemaVersion: 1);   // v1 -> v2 declared, v2 -> v3 by hand
        Assert.Equal("STANDARD", (string)fromV1.ShippingMethod);
        Assert.False((bool)fromV1.Priority);
    }

    /// <summary>The example's order.yaml with its PlaceOrder and OrderPlaced entries replaced, as the guide says to edit them.</summary>
    static string Edited(string variant, Func<string, string>? change = null)
    {
        var lines = File.ReadAllText(Path.Combine(GeneratorHarness.OrdersDefinitions, "order.yaml")).ReplaceLineEndings("\n").Split('\n').ToList();
        Replace(lines, "  OrderPlaced:", "  OrderConfirmed:", (change ?? (text => text))(File.ReadAllText(Path.Combine(Guide, $"order-placed.{variant}.yaml"))));
        Replace(lines, "  PlaceOrder:", "  ConfirmOrder:", File.ReadAllText(Path.Combine(Guide, $"place-order.{variant}.yaml")));
        return string.Join("\n", lines);
    }

    static void Replace(List<string> lines, string first, string next, string entry)
    {
        var start = lines.IndexOf(first);
        var end = lines.IndexOf(next);
        Assert.True(start > 0 && end > start, $"order.yaml no longer has {first.Trim()} followed by {next.Trim()}; update VersioningGuide and the guide");
        lines.RemoveRange(start, end - start);
        lines.Insert(start, entry.ReplaceLineEndings("\n").TrimEnd('\n'));
    }

    static Assembly Compile(string orderYaml, params string[] handWritten)
    {
        var (_, output) = GeneratorHarness.Compiles(GeneratorHarness.OrdersWith("order.yaml", _ => orderYaml),
            GeneratorHarness.CreateCompilation("Shop.Orders", handWritten));
        return GeneratorHarness.LoadAssembly(output);
    }

    static EventTypeDescriptor Descriptor(Assembly assembly) =>
        (EventTypeDescriptor)assembly.GetType("Shop.Orders.OrderPlacedEventType", throwOnError: true)!.GetProperty("Instance")!.GetValue(null)!;

    /// <summary>The Orders definitions and lock in a temp folder, with order.yaml replaced.</summary>
    sealed class DefinitionsCopy : IDisposable
    {
        public DefinitionsCopy(string orderYaml)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "versioning-guide-" + Guid.NewGuid().ToString("N"), "definitions");
            Directory.CreateDirectory(Path);
            foreach (var file in Directory.GetFiles(GeneratorHarness.OrdersDefinitions))
                File.Copy(file, System.IO.Path.Combine(Path, System.IO.Path.GetFileName(file)));
            File.WriteAllText(System.IO.Path.Combine(Path, "order.yaml"), orderYaml);
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true);
    }
}
