using System.Buffers;
using System.Text.Json;
using Platform.Events;
using Platform.Persistence;

namespace Platform.Benchmarks.EventStore;

/// <summary>The event every contender stores: a typical small domain event.</summary>
public sealed record ItemAdded(string OrderId, string Sku, int Quantity, decimal Price);

/// <summary>Hand-written the way the generator writes descriptors: Utf8JsonWriter and Utf8JsonReader, no reflection.</summary>
public sealed class ItemAddedDescriptor : EventTypeDescriptor<ItemAdded>
{
    public override string TypeName => "orders.item-added";
    public override int SchemaVersion => 1;

    public override void Write(ItemAdded @event, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("orderId"u8, @event.OrderId);
        writer.WriteString("sku"u8, @event.Sku);
        writer.WriteNumber("quantity"u8, @event.Quantity);
        writer.WriteNumber("price"u8, @event.Price);
        writer.WriteEndObject();
    }

    public override ItemAdded Read(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion)
    {
        var reader = new Utf8JsonReader(utf8Json);
        string? orderId = null, sku = null;
        int quantity = 0;
        decimal price = 0;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("orderId"u8)) { reader.Read(); orderId = reader.GetString(); }
            else if (reader.ValueTextEquals("sku"u8)) { reader.Read(); sku = reader.GetString(); }
            else if (reader.ValueTextEquals("quantity"u8)) { reader.Read(); quantity = reader.GetInt32(); }
            else if (reader.ValueTextEquals("price"u8)) { reader.Read(); price = reader.GetDecimal(); }
            else { reader.Read(); reader.Skip(); }
        }
        return new ItemAdded(orderId!, sku!, quantity, price);
    }

    public static ItemAdded Sample(string orderId, int i) => new(orderId, $"SKU-{i % 97:D4}", 1 + i % 5, 9.99m + i % 13);
}

public sealed class OrderTotals
{
    public int Items { get; set; }
    public decimal Total { get; set; }

    // Marten finds these by convention.
    public void Apply(ItemAdded e)
    {
        Items += e.Quantity;
        Total += e.Quantity * e.Price;
    }
}

public sealed class OrderTotalsSnapshot : SnapshotDescriptor<OrderTotals>
{
    public override string SchemaFingerprint => "order-totals-v1";

    public override void Write(OrderTotals state, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteNumber("items"u8, state.Items);
        writer.WriteNumber("total"u8, state.Total);
        writer.WriteEndObject();
    }

    public override OrderTotals Read(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        var state = new OrderTotals();
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("items"u8)) { reader.Read(); state.Items = reader.GetInt32(); }
            else if (reader.ValueTextEquals("total"u8)) { reader.Read(); state.Total = reader.GetDecimal(); }
            else { reader.Read(); reader.Skip(); }
        }
        return state;
    }
}

public sealed class OrderTotalsDefinition(int snapshotEvery) : AggregateDefinition<OrderTotals>
{
    static readonly OrderTotalsSnapshot Snapshots = new();
    public override string AggregateType => "order";
    public override int SnapshotEvery => snapshotEvery;
    public override SnapshotDescriptor<OrderTotals>? Snapshot => snapshotEvery > 0 ? Snapshots : null;
    public override OrderTotals CreateEmpty() => new();

    public override OrderTotals Apply(OrderTotals state, object @event)
    {
        if (@event is ItemAdded added)
            state.Apply(added);
        return state;
    }
}
