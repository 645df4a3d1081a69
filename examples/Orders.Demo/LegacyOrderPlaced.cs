using System.Buffers;
using System.Text.Json;
using Platform.Events;

namespace Shop.Orders.Demo;

/// <summary>
/// How the build before OrderPlaced v2 wrote the event: schema version 1 under the same stored type
/// name. The demo stores some orders with it so the current build must upcast them on read.
/// </summary>
sealed class LegacyOrderPlacedV1 : EventTypeDescriptor<OrderPlacedV1>
{
    public override string TypeName => OrderPlaced.EventTypeName;

    public override int SchemaVersion => OrderPlacedV1.SchemaVersion;

    public override void Write(OrderPlacedV1 @event, IBufferWriter<byte> output)
    {
        var json = new Platform.Serialization.JsonOutput(output);
        OrderPlacedV1.WriteJson(ref json, @event);
        json.Commit();
    }

    public override OrderPlacedV1 Read(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion)
    {
        var reader = new Utf8JsonReader(utf8Json);
        reader.Read();
        return OrderPlacedV1.ReadJson(ref reader);
    }
}
