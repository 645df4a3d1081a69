using System.Buffers;
using System.Text;
using System.Text.Json;
using Platform.EventStore.Schema;
using Platform.Events;
using Platform.Persistence;
using Shop.Orders;
using Xunit;

namespace Platform.EventStore.Tests;

/// <summary>The checked-in code the generator wrote for examples/Orders, through the store.</summary>
public abstract partial class EventStoreBehaviour
{
    [SkippableFact]
    public async Task the_generated_orders_domain_saves_loads_and_upcasts_through_the_store()
    {
        var store = NewStore(OrdersDomain.CreateEventTypeRegistry());
        var id = NewStream("order");
        var placed = new OrderPlaced("customer-1", [new OrderItem("p-1", 2, 10m)], 20m, "Seoul", "KRW", "EXPRESS");

        var empty = await store.LoadAsync(Order.Definition, id);
        var saved = await store.SaveAsync(Order.Definition, empty, [EventData.Create(placed)]);
        Assert.Equal(1, saved.Version);

        var loaded = await store.LoadAsync(Order.Definition, id);
        Assert.Equal((OrderStatus.Placed, "customer-1", 20m, "EXPRESS"),
            (loaded.State.Status, loaded.State.CustomerId, loaded.State.TotalAmount, loaded.State.ShippingMethod));
        var read = Assert.Single(await store.ReadStreamAsync(id).ToListAsync());
        Assert.Equal(placed.Items, ((OrderPlaced)read.Event).Items);
        // $meta.timestamp reaches the state the same way on save and on load.
        Assert.Equal(read.Timestamp, loaded.State.PlacedAt);
        Assert.Equal(loaded.State.PlacedAt, saved.State.PlacedAt);

        // An OrderPlaced stored by a build that only had v1 (no currency, no shipping method).
        var oldStream = NewStream("order");
        var buffer = new ArrayBufferWriter<byte>();
        var json = new Platform.Serialization.JsonOutput(buffer);
        OrderPlacedV1.WriteJson(ref json, new OrderPlacedV1("customer-2", [new OrderItem("p-2", 1, 5m)], 5m, "Busan", null));
        json.Commit();
        await using (var context = store.CreateDbContext())
        {
            context.Events.Add(new EventRecord
            {
                StreamId = oldStream, StreamType = Order.AggregateTypeName, StreamVersion = 1, EventId = Guid.NewGuid(),
                TypeName = OrderPlaced.EventTypeName, SchemaVersion = 1, Data = Encoding.UTF8.GetString(buffer.WrittenSpan),
                Timestamp = DateTimeOffset.UtcNow,
            });
            await context.SaveChangesAsync();
        }
        var upcast = (OrderPlaced)Assert.Single(await store.ReadStreamAsync(oldStream).ToListAsync()).Event;
        Assert.Equal(("customer-2", "KRW", "STANDARD"), (upcast.CustomerId, upcast.Currency, upcast.ShippingMethod));
        var old = await store.LoadAsync(Order.Definition, oldStream);
        Assert.Equal((1L, "Busan"), (old.Version, old.State.ShippingAddress));
    }
}
