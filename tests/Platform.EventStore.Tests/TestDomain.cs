using System.Buffers;
using System.Text.Json;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Tests;

// Hand-written the way the generator will write them: Utf8JsonWriter/Utf8JsonReader, no reflection.

public sealed record ItemAdded(string Sku, int Quantity);

/// <summary>The first version of ItemAdded had no quantity; the upcaster defaults it to 1.</summary>
public sealed record ItemAddedV1(string Sku);

public sealed record CounterIncremented(int By);

public sealed record MysteryHappened(string What);

/// <summary>ItemAdded at v2 with the v1 -> v2 upcaster.</summary>
public sealed class ItemAddedDescriptor : EventTypeDescriptor<ItemAdded>
{
    public override string TypeName => "cart.item-added";
    public override int SchemaVersion => 2;

    public override void Write(ItemAdded @event, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("sku", @event.Sku);
        writer.WriteNumber("quantity", @event.Quantity);
        writer.WriteEndObject();
    }

    public override ItemAdded Read(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion) => storedSchemaVersion switch
    {
        1 => Upcast(ItemAddedV1Descriptor.ReadV1(utf8Json)),
        2 => ReadV2(utf8Json),
        _ => throw new NotSupportedException($"cart.item-added v{storedSchemaVersion} is unknown"),
    };

    static ItemAdded Upcast(ItemAddedV1 v1) => new(v1.Sku, Quantity: 1);

    static ItemAdded ReadV2(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        string? sku = null;
        int? quantity = null;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("sku"u8)) { reader.Read(); sku = reader.GetString(); }
            else if (reader.ValueTextEquals("quantity"u8)) { reader.Read(); quantity = reader.GetInt32(); }
            else { reader.Read(); reader.Skip(); }
        }
        return new ItemAdded(sku ?? throw new JsonException("sku is missing"), quantity ?? throw new JsonException("quantity is missing"));
    }
}

/// <summary>What an older build had registered: ItemAdded at v1 only.</summary>
public sealed class ItemAddedV1Descriptor : EventTypeDescriptor<ItemAddedV1>
{
    public override string TypeName => "cart.item-added";
    public override int SchemaVersion => 1;

    public override void Write(ItemAddedV1 @event, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("sku", @event.Sku);
        writer.WriteEndObject();
    }

    public override ItemAddedV1 Read(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion) => ReadV1(utf8Json);

    internal static ItemAddedV1 ReadV1(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        string? sku = null;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("sku"u8)) { reader.Read(); sku = reader.GetString(); }
            else { reader.Read(); reader.Skip(); }
        }
        return new ItemAddedV1(sku ?? throw new JsonException("sku is missing"));
    }
}

public sealed class CounterIncrementedDescriptor : EventTypeDescriptor<CounterIncremented>
{
    public override string TypeName => "counter.incremented";
    public override int SchemaVersion => 1;

    public override void Write(CounterIncremented @event, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteNumber("by", @event.By);
        writer.WriteEndObject();
    }

    public override CounterIncremented Read(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion)
    {
        var reader = new Utf8JsonReader(utf8Json);
        int? by = null;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("by"u8)) { reader.Read(); by = reader.GetInt32(); }
            else { reader.Read(); reader.Skip(); }
        }
        return new CounterIncremented(by ?? throw new JsonException("by is missing"));
    }
}

public sealed class MysteryHappenedDescriptor : EventTypeDescriptor<MysteryHappened>
{
    public override string TypeName => "future.mystery-happened";
    public override int SchemaVersion => 1;

    public override void Write(MysteryHappened @event, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("what", @event.What);
        writer.WriteEndObject();
    }

    public override MysteryHappened Read(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion) =>
        throw new InvalidOperationException("not read in tests");
}

public sealed class CounterState
{
    public long Total { get; set; }
    public int Increments { get; set; }
}

public sealed class CounterSnapshot(string fingerprint) : SnapshotDescriptor<CounterState>
{
    public int Reads { get; private set; }
    public override string SchemaFingerprint => fingerprint;

    public override void Write(CounterState state, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteNumber("total", state.Total);
        writer.WriteNumber("increments", state.Increments);
        writer.WriteEndObject();
    }

    public override CounterState Read(ReadOnlySpan<byte> utf8Json)
    {
        Reads++;
        var reader = new Utf8JsonReader(utf8Json);
        var state = new CounterState();
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("total"u8)) { reader.Read(); state.Total = reader.GetInt64(); }
            else if (reader.ValueTextEquals("increments"u8)) { reader.Read(); state.Increments = reader.GetInt32(); }
            else { reader.Read(); reader.Skip(); }
        }
        return state;
    }
}

public sealed class CounterDefinition(CounterSnapshot? snapshot, int every) : AggregateDefinition<CounterState>
{
    public int Applied { get; private set; }
    public List<(long Version, long Position, DateTimeOffset Timestamp)> Envelopes { get; } = [];
    public override string AggregateType => "counter";

    public override CounterState Apply(CounterState state, EventEnvelope envelope)
    {
        Envelopes.Add((envelope.StreamVersion, envelope.GlobalPosition, envelope.Timestamp));
        return base.Apply(state, envelope);
    }
    public override int SnapshotEvery => every;
    public override SnapshotDescriptor<CounterState>? Snapshot => snapshot;
    public override CounterState CreateEmpty() => new();

    public override CounterState Apply(CounterState state, object @event)
    {
        Applied++;
        switch (@event)
        {
            case CounterIncremented incremented:
                state.Total += incremented.By;
                state.Increments++;
                break;
        }
        return state;
    }
}

static class Registries
{
    public static EventTypeRegistry Current() =>
        EventTypeRegistry.Create(new ItemAddedDescriptor(), new CounterIncrementedDescriptor());

    public static EventTypeRegistry Old() =>
        EventTypeRegistry.Create(new ItemAddedV1Descriptor(), new CounterIncrementedDescriptor());

    public static EventTypeRegistry Newer() =>
        EventTypeRegistry.Create(new ItemAddedDescriptor(), new CounterIncrementedDescriptor(), new MysteryHappenedDescriptor());
}
