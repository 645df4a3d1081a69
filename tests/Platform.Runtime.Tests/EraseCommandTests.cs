using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Events;
using Platform.EventStore.Schema;
using Platform.Runtime.Commands;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Sagas;
using Platform.Runtime.Scheduling;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// <c>platform stream erase</c>: a data subject's erasure on the Orders example, whose placing
/// declares <c>shippingAddress</c> personal. The stream keeps its events, ids, versions and other
/// fields, live and archived, at the version each was stored with; its snapshot goes; the aggregate
/// still takes commands; other streams keep their data; erasing again changes nothing.
/// </summary>
public sealed class EraseCommandTests
{
    static Task<(int ExitCode, string Output)> RunAsync(RuntimeHost host, params string[] args) =>
        Cli.RunAsync([EventCommands.Stream()], [.. args, .. ProjectionCommandTests.StoreArguments(host)]);

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task an_erased_stream_keeps_its_history_without_its_personal_data(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        Guid erased = Guid.NewGuid(), kept = Guid.NewGuid(), archived = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(erased, 1));
        await dispatcher.DispatchAsync(new ConfirmOrder(erased));
        await dispatcher.DispatchAsync(Orders.Place(kept, 2));
        await dispatcher.DispatchAsync(Orders.Place(archived, 3));
        var head = await host.EventStore.GetHeadPositionAsync();
        var relay = host.Services.GetRequiredService<Platform.EventStore.Outbox.OutboxRelay>();
        await Eventually.HoldsAsync(() => Task.FromResult(relay.PublishedPosition >= head), "the relay to publish the orders");

        // The erased order's placing as version 1 stored it (no shippingMethod), and a snapshot of
        // its state, which holds the address too.
        await Orders.ExecuteAsync(host.EventStore, store == Store.Postgres
            ? $"UPDATE events SET schema_version = 1, data = data - 'shippingMethod' WHERE stream_id = '{erased:D}' AND stream_version = 1"
            : $"UPDATE events SET schema_version = 1, data = json_remove(data, '$.shippingMethod') WHERE stream_id = '{erased:D}' AND stream_version = 1");
        await using (var context = host.EventStore.CreateDbContext())
        {
            context.Snapshots.Add(new SnapshotRecord
            {
                StreamId = erased.ToString("D"), StreamType = "Order", StreamVersion = 2, SchemaFingerprint = "before",
                Data = """{"shippingAddress":"1 Main Street"}""", Timestamp = DateTimeOffset.UtcNow,
            });
            await context.SaveChangesAsync();
        }
        var (code, output) = await Cli.RunAsync([EventCommands.Stream()], ["stream", "archive", archived.ToString("D"), .. Cli.Store(host)]);
        Assert.True(code == 0, output);
        // The fulfilment saga the placing started (sagas do not run in this host): its data and what
        // it sent keep the address, by the same name.
        var sagas = new SagaOperations(host.Options.Store.Provider, host.Options.Store.ConnectionString);
        _ = await sagas.ListAsync();
        var now = Sql.Time(DateTimeOffset.UtcNow);
        await Orders.ExecuteAsync(host.EventStore, $$"""
            INSERT INTO saga_instances (saga_name, correlation_id, current_state, version, data, created_at, updated_at)
            VALUES ('OrderFulfilment', '{{erased:D}}', 'Completed', 4, '{"correlationId":"{{erased:D}}","customerId":"customer-1","shippingAddress":"1 Main Street"}', '{{now}}', '{{now}}')
            """);
        var sent = JsonSerializer.Serialize(new[]
        {
            new SentMessage(DeliveryKind.Send, "queue:shipping", "Shop.Inventory.ArrangeShipment",
                $$"""{"orderId":"{{erased:D}}","shippingAddress":"1 Main Street","shippingMethod":"standard"}""", "{}"),
        }, SagaTables.Json);
        await Orders.ExecuteAsync(host.EventStore, $"""
            INSERT INTO saga_history (id, saga_name, correlation_id, version, from_state, to_state, message_type, message_id, sent, at)
            VALUES ('{Guid.NewGuid():D}', 'OrderFulfilment', '{erased:D}', 3, 'AwaitingInventory', 'AwaitingShipment', 'InventoryReserved', NULL, '{sent}', '{now}')
            """);

        (code, output) = await RunAsync(host, "stream", "erase", erased.ToString("D"));
        Assert.True(code == 0, output);
        Assert.Equal($"Erased the personal data of 1 of 2 event(s) of stream '{erased:D}': shop.orders.order-placed; its snapshot was deleted.\n" +
            $"Erased the personal data of saga OrderFulfilment {erased:D} (its row, and 1 history row(s) of what it sent).",
            output.Trim().ReplaceLineEndings("\n"));
        var saga = (await sagas.GetAsync(erased)).Single();
        Assert.Equal((5, "Completed"), (saga.Instance.Version, saga.Instance.CurrentState));
        using (var data = JsonDocument.Parse(saga.Instance.Data))
            Assert.Equal(("", "customer-1"), (data.RootElement.GetProperty("shippingAddress").GetString(), data.RootElement.GetProperty("customerId").GetString()));
        using (var shipment = JsonDocument.Parse(JsonSerializer.Deserialize<SentMessage[]>(saga.History.Single().Sent, SagaTables.Json)![0].Payload))
            Assert.Equal(("", "standard"), (shipment.RootElement.GetProperty("shippingAddress").GetString(), shipment.RootElement.GetProperty("shippingMethod").GetString()));
        var placed = await PlacedAsync(host, erased);
        Assert.Equal(1, placed.SchemaVersion);
        var order = (OrderPlaced)placed.Event;
        Assert.Equal(("", "customer-1", 2, "EUR", "STANDARD"), (order.ShippingAddress, order.CustomerId, order.Items.Count, order.Currency, order.ShippingMethod));
        Assert.Equal("2 Main Street", ((OrderPlaced)(await PlacedAsync(host, kept)).Event).ShippingAddress);
        Assert.Equal(0, await Orders.CountRowsAsync(host.EventStore, $"snapshots WHERE stream_id = '{erased:D}'"));

        // The aggregate loads from what is left and goes on.
        var shipped = await dispatcher.DispatchAsync(new ShipOrder(erased, "track-1"));
        Assert.Equal(3, shipped.Version);

        // A dead letter of the stream keeps the placing as it was sent: named, then deleted when asked.
        var letters = new DeadLetterStore(host.Options.Store.Provider, host.Options.Store.ConnectionString);
        var letter = new DeadLetter(Guid.CreateVersion7(), "OrderEventRecorder", "orders-recorder", Guid.NewGuid().ToString("D"), typeof(OrderPlaced).FullName!,
            OrderPlaced.EventTypeName, erased.ToString("D"), 1, 1, "{}", """{"shippingAddress":"1 Main Street"}""", "System.Exception", "failed", "", 5,
            DateTimeOffset.UtcNow, DeadLetterState.Dead, null);
        await letters.AddAsync(letter);
        (code, output) = await RunAsync(host, "stream", "erase", erased.ToString("D"));
        Assert.True(code == 0, output);
        Assert.StartsWith($"Erased the personal data of 0 of 3 event(s) of stream '{erased:D}': shop.orders.order-placed.", output, StringComparison.Ordinal);
        Assert.Contains($"1 dead letter(s) of this stream keep its messages as they were sent, personal data included, and a replay applies them again: {letter.Id:D}",
            output, StringComparison.Ordinal);
        (code, output) = await RunAsync(host, "stream", "erase", erased.ToString("D"), "--delete-dead-letters");
        Assert.True(code == 0, output);
        Assert.Contains("Deleted 1 dead letter(s) of this stream.", output, StringComparison.Ordinal);
        Assert.Null(await letters.GetAsync(letter.Id));

        (code, output) = await RunAsync(host, "stream", "erase", archived.ToString("D"), "--json");
        Assert.True(code == 0, output);
        using (var json = JsonDocument.Parse(output))
        {
            var root = Assert.Single(json.RootElement.EnumerateArray());
            Assert.Equal((1, 1, 1, false), (root.GetProperty("events").GetInt32(), root.GetProperty("erasedEvents").GetInt32(),
                root.GetProperty("erasedArchivedEvents").GetInt32(), root.GetProperty("snapshotDeleted").GetBoolean()));
            // No projection of the example copies the address: nothing to rebuild.
            Assert.Equal(0, root.GetProperty("rebuild").GetArrayLength());
        }
        Assert.Equal("", ((OrderPlaced)(await PlacedAsync(host, archived)).Event).ShippingAddress);

        // Several streams at once, all found first: a mistyped id erases none of them.
        (code, output) = await RunAsync(host, "stream", "erase", kept.ToString("D"), Guid.NewGuid().ToString("D"));
        Assert.Equal(1, code);
        Assert.Contains("error: no stream", output, StringComparison.Ordinal);
        Assert.Equal("2 Main Street", ((OrderPlaced)(await PlacedAsync(host, kept)).Event).ShippingAddress);
        (code, output) = await RunAsync(host, "stream", "erase", kept.ToString("D"), archived.ToString("D"));
        Assert.True(code == 0, output);
        Assert.Contains($"Erased the personal data of 1 of 1 event(s) of stream '{kept:D}'", output, StringComparison.Ordinal);
        Assert.Contains($"Erased the personal data of 0 of 1 event(s) of stream '{archived:D}'", output, StringComparison.Ordinal);
        Assert.Equal("", ((OrderPlaced)(await PlacedAsync(host, kept)).Event).ShippingAddress);
    }

    static async Task<EventEnvelope> PlacedAsync(RuntimeHost host, Guid order)
    {
        await foreach (var envelope in host.EventStore.ReadStreamAsync(order.ToString("D"), includeArchived: true))
            return envelope;
        throw new InvalidOperationException($"no events for {order}");
    }
}
