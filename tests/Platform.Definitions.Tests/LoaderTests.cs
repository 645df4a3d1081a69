using Platform.Definitions.Loading;
using Platform.Definitions.Model;
using Xunit;

namespace Platform.Definitions.Tests;

public sealed class LoaderTests
{
    [Fact]
    public void every_orders_example_file_loads_without_diagnostics()
    {
        var files = Directory.GetFiles(Paths.OrdersDefinitions, "*.yaml");
        Assert.True(files.Length >= 7);
        foreach (var file in files)
        {
            var result = DefinitionLoader.Load(file, File.ReadAllBytes(file));
            Assert.True(result.Diagnostics.IsEmpty, file + ": " + string.Join(Environment.NewLine, result.Diagnostics.Select(d => d.ToCanonicalString())));
            Assert.NotNull(result.Value);
        }
    }

    [Fact]
    public void order_placed_has_two_versions_and_an_upcast_with_defaults()
    {
        var path = Path.Combine(Paths.OrdersDefinitions, "order.yaml");
        var file = DefinitionLoader.Load(path, File.ReadAllText(path)).Value!;
        var placed = file.Aggregate!.Events.Single(e => e.Name == "OrderPlaced");
        Assert.Equal(2, placed.Version);
        Assert.Equal("shop.orders.order-placed", placed.TypeName);
        var v1 = Assert.Single(placed.Previous);
        Assert.Equal(1, v1.Version);
        Assert.True(v1.Fields.Single(f => f.Name == "currency").Type.IsOptional);
        Assert.Contains(v1.Upcast, s => s is { Field: "currency", Operation: UpcastOperation.Default, Value.Text: "KRW" });
        Assert.Contains(v1.Upcast, s => s is { Field: "shippingMethod", Operation: UpcastOperation.Default, Value.Text: "STANDARD" });
    }

    [Fact]
    public void a_declared_projection_and_snapshot_revision_is_read()
    {
        var projection = DefinitionLoader.Load("p.yaml",
            "projection: P\nnamespace: N\naggregate: A\nkey: { name: aId, type: guid }\nrevision: 3\nfields: { n: int }\n");
        Assert.True(projection.Diagnostics.IsEmpty, string.Join(Environment.NewLine, projection.Diagnostics.Select(d => d.ToCanonicalString())));
        Assert.Equal(3, projection.Value!.Projection!.Revision);

        var aggregate = DefinitionLoader.Load("a.yaml",
            "aggregate: A\nnamespace: N\nid: { name: aId, type: guid }\nsnapshot: { every: 20, revision: 2 }\n");
        Assert.True(aggregate.Diagnostics.IsEmpty, string.Join(Environment.NewLine, aggregate.Diagnostics.Select(d => d.ToCanonicalString())));
        Assert.Equal((20, 2), (aggregate.Value!.Aggregate!.SnapshotEvery, aggregate.Value.Aggregate.SnapshotRevision));
    }

    [Fact]
    public void a_composite_key_and_its_values_are_read_in_order()
    {
        var result = DefinitionLoader.Load("p.yaml", """
            projection: Stock
            namespace: N
            key: [{ name: warehouse, type: string }, { name: sku, type: string }]
            fields: { quantity: int }
            on:
              StockCounted: { action: upsert, key: [$warehouse, $sku], set: { quantity: $quantity } }
            """);
        Assert.True(result.Diagnostics.IsEmpty, string.Join(Environment.NewLine, result.Diagnostics.Select(d => d.ToCanonicalString())));
        var projection = result.Value!.Projection!;
        Assert.Equal(["warehouse", "sku"], projection.Keys.Select(k => k.Name));
        Assert.Equal(["$warehouse", "$sku"], projection.Handlers.Single().Keys.Select(k => k.Text));
    }

    [Fact]
    public void loading_the_same_text_twice_gives_equal_models()
    {
        var path = Path.Combine(Paths.OrdersDefinitions, "fulfilment.yaml");
        var text = File.ReadAllText(path);
        var first = DefinitionLoader.Load(path, text);
        var second = DefinitionLoader.Load(path, text);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        var edited = DefinitionLoader.Load(path, text.Replace("timeout: 30s", "timeout: 45s"));
        Assert.NotEqual(first, edited);
    }

    [Fact]
    public void types_are_parsed_into_structure()
    {
        var result = DefinitionLoader.Load("t.yaml", "contracts: T\nnamespace: N\ntypes:\n  V:\n    a: map<string, list<decimal?>>?\n    b: long\n");
        Assert.True(result.Diagnostics.IsEmpty);
        var a = result.Value!.Types.Single().Fields.Single(f => f.Name == "a").Type;
        Assert.Equal(TypeKind.Map, a.Kind);
        Assert.True(a.IsOptional);
        Assert.Equal(PrimitiveType.String, a.Key!.Primitive);
        Assert.Equal(TypeKind.List, a.Element!.Kind);
        Assert.Equal(PrimitiveType.Decimal, a.Element.Element!.Primitive);
        Assert.True(a.Element.Element.IsOptional);
        Assert.Equal("map<string,list<decimal?>>?", a.Display);
    }

    [Fact]
    public void spans_are_one_based_lines_and_columns_with_offsets()
    {
        var text = "contracts: T\nnamespace: N\nevents:\n  Happened: { fields: { when: timestamp } }\n";
        var file = DefinitionLoader.Load("t.yaml", text).Value!;
        var happened = file.Events.Single();
        Assert.Equal(4, happened.Span.StartLine);
        Assert.Equal(3, happened.Span.StartColumn);
        Assert.Equal("Happened", text.Substring(happened.Span.StartOffset, happened.Span.EndOffset - happened.Span.StartOffset));
    }
}
