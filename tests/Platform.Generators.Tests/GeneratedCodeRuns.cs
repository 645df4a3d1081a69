using System.Buffers;
using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Platform.Commands;
using Platform.Definitions.Checks;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;
using Platform.Events;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>Runs the code generated for the Orders example: upcasting, JSON round trips, commands and state.</summary>
public class GeneratedCodeRuns
{
    static readonly Lazy<Assembly> Orders = new(() =>
        GeneratorHarness.LoadAssembly(GeneratorHarness.Run(GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions)).Output));

    static readonly Lazy<DefinitionSet> Definitions = new(() =>
    {
        var files = Directory.GetFiles(GeneratorHarness.OrdersDefinitions, "*.yaml")
            .Select(path => DefinitionLoader.Load(path, File.ReadAllText(path)).Value!)
            .ToList();
        return DefinitionSet.Check(files).Value!;
    });

    static Type Type(string name) => Orders.Value.GetType(name, throwOnError: true)!;

    static EventTypeDescriptor Descriptor(EventDefinition e) =>
        (EventTypeDescriptor)Type($"{e.Namespace}.{e.Name}EventType").GetProperty("Instance")!.GetValue(null)!;

    static byte[] Write(EventTypeDescriptor descriptor, object @event)
    {
        var buffer = new ArrayBufferWriter<byte>();
        descriptor.Serialize(@event, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void a_stored_v1_order_placed_reaches_code_as_v2_with_declared_defaults()
    {
        var placed = Definitions.Value.Events.Single(e => e.Name == "OrderPlaced");
        var descriptor = Descriptor(placed);
        var v1 = """{"customerId":"c-1","items":[{"productId":"p-1","quantity":2,"price":5.5}],"totalAmount":11,"shippingAddress":"Seoul"}"""u8;

        dynamic current = descriptor.Deserialize(v1, storedSchemaVersion: 1);

        Assert.Equal("c-1", (string)current.CustomerId);
        Assert.Equal(11m, (decimal)current.TotalAmount);
        Assert.Equal("KRW", (string)current.Currency);
        Assert.Equal("STANDARD", (string)current.ShippingMethod);
        Assert.Equal(2, (int)((IEnumerable)current.Items).Cast<dynamic>().Single().Quantity);

        dynamic withCurrency = descriptor.Deserialize("""{"customerId":"c","items":[],"totalAmount":1,"shippingAddress":"a","currency":"USD"}"""u8, 1);
        Assert.Equal("USD", (string)withCurrency.Currency);
    }

    [Fact]
    public void an_unknown_schema_version_or_missing_field_is_a_clear_error()
    {
        var descriptor = Descriptor(Definitions.Value.Events.Single(e => e.Name == "OrderPlaced"));
        var unknown = Assert.ThrowsAny<System.Text.Json.JsonException>(() => descriptor.Deserialize("{}"u8, 7));
        Assert.Contains("schema version 7", unknown.Message);
        var missing = Assert.ThrowsAny<System.Text.Json.JsonException>(() => descriptor.Deserialize("""{"items":[]}"""u8, 2));
        Assert.Contains("customerId", missing.Message);
    }

    [Fact]
    public void every_version_of_every_example_event_upcasts_round_trips_and_applies()
    {
        var set = Definitions.Value;
        var order = Type("Shop.Orders.Order").GetProperty("Definition")!.GetValue(null)!;
        var apply = order.GetType().GetMethod("Apply", new[] { Type("Shop.Orders.OrderState"), typeof(object) })!;
        var createEmpty = order.GetType().GetMethod("CreateEmpty")!;
        var checkedVersions = 0;

        foreach (var e in set.Events)
        {
            var descriptor = Descriptor(e);
            var versions = e.Previous.Select(p => (p.Version, p.Fields)).Append((e.Version, e.Fields));
            foreach (var (version, fields) in versions)
            {
                var sample = Encoding.UTF8.GetBytes(Sample(fields, set).ToJsonString());
                var current = descriptor.Deserialize(sample, version);
                Assert.Equal(descriptor.ClrType, current.GetType());

                // Lossless: what is written reads back to an event that writes the same bytes.
                var written = Write(descriptor, current);
                var reread = descriptor.Deserialize(written, e.Version);
                Assert.Equal(Encoding.UTF8.GetString(written), Encoding.UTF8.GetString(Write(descriptor, reread)));
                if (version == e.Version)
                    Assert.True(JsonNode.DeepEquals(JsonNode.Parse(sample), JsonNode.Parse(written)), $"{e.Name} v{version} changed in a round trip");

                if (e.Aggregate == "Order")
                    apply.Invoke(order, new[] { createEmpty.Invoke(order, null), current });
                checkedVersions++;
            }
        }
        Assert.True(checkedVersions >= set.Events.Count() + 1);
    }

    [Fact]
    public void commands_validate_declared_constraints_and_guards_reject_wrong_states()
    {
        var order = Type("Shop.Orders.Order").GetProperty("Definition")!.GetValue(null)!;
        var stateType = Type("Shop.Orders.OrderState");
        var itemType = Type("Shop.Orders.OrderItem");
        var items = Array.CreateInstance(itemType, 1);
        items.SetValue(Activator.CreateInstance(itemType, "p-1", 3, 2.5m), 0);
        var id = Guid.NewGuid();
        var place = Activator.CreateInstance(Type("Shop.Orders.PlaceOrder"), id, "c-1", items, "Seoul", "KRW", "EXPRESS")!;
        var invalid = Activator.CreateInstance(Type("Shop.Orders.PlaceOrder"), id, "", Array.CreateInstance(itemType, 0), "Seoul", "KRW", "EXPRESS")!;
        object State = order.GetType().GetMethod("CreateEmpty")!.Invoke(order, null)!;
        long Version = 0;
        var handle = (object command) => (IReadOnlyList<object>)order.GetType().GetMethod("Handle", new[] { stateType, typeof(long), typeof(object) })!
            .Invoke(order, new object?[] { State, Version, command })!;

        var validation = Assert.IsType<CommandValidationException>(Catch(() => handle(invalid)));
        Assert.Contains("customerId must not be empty", validation.Errors);
        Assert.Contains("items must not be empty", validation.Errors);

        var confirm = Activator.CreateInstance(Type("Shop.Orders.ConfirmOrder"), id)!;
        Assert.IsType<CommandRejectedException>(Catch(() => handle(confirm)));

        var placed = handle(place);
        dynamic @event = Assert.Single(placed);
        Assert.Equal(7.5m, (decimal)@event.TotalAmount); // sum($items.price * $items.quantity)
        State = order.GetType().GetMethod("Apply", new[] { stateType, typeof(object) })!.Invoke(order, new[] { State, (object)@event })!;
        Version = 1;
        Assert.Equal("Placed", stateType.GetProperty("Status")!.GetValue(State)!.ToString());
        Assert.IsType<CommandRejectedException>(Catch(() => handle(place)));

        var ship = Activator.CreateInstance(Type("Shop.Orders.ShipOrder"), id, "TRACK-1")!;
        var rejected = Assert.IsType<CommandRejectedException>(Catch(() => handle(ship)));
        Assert.Contains("status", rejected.Reason);
        Assert.Single(handle(confirm));
        Assert.Equal(id.ToString("D"), order.GetType().GetMethod("StreamIdOf")!.Invoke(null, new[] { place }));
    }

    static Exception? Catch(Action action)
    {
        try { action(); return null; }
        catch (TargetInvocationException exception) { return exception.InnerException; }
    }

    static JsonObject Sample(IEnumerable<FieldDefinition> fields, DefinitionSet set)
    {
        var json = new JsonObject();
        foreach (var field in fields) json[field.Name] = SampleValue(field.Type, set);
        return json;
    }

    static JsonNode? SampleValue(TypeRef type, DefinitionSet set) => type.Kind switch
    {
        TypeKind.List => new JsonArray(SampleValue(type.Element!, set)),
        TypeKind.Map => new JsonObject { ["k"] = SampleValue(type.Element!, set) },
        TypeKind.Enum => JsonValue.Create(type.EnumMembers[0]),
        TypeKind.Named when set.Enums.FirstOrDefault(e => e.Name == type.Name) is { } named => JsonValue.Create(named.Members[0].Name),
        TypeKind.Named => Sample(set.ValueTypes.Single(v => v.Name == type.Name).Fields, set),
        _ => type.Primitive switch
        {
            PrimitiveType.Int => JsonValue.Create(3),
            PrimitiveType.Long => JsonValue.Create(4L),
            PrimitiveType.Decimal => JsonValue.Create(12.5m),
            PrimitiveType.Double => JsonValue.Create(0.25),
            PrimitiveType.Bool => JsonValue.Create(true),
            PrimitiveType.Guid => JsonValue.Create("3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
            PrimitiveType.Timestamp => JsonValue.Create("2026-11-26T10:00:00+00:00"),
            PrimitiveType.Date => JsonValue.Create("2026-11-26"),
            _ => JsonValue.Create("text"),
        },
    };
}
