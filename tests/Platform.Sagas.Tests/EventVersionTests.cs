using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Messaging;
using Shop.Orders;
using Xunit;

namespace Platform.Sagas.Tests;

/// <summary>OrderPlaced as the build before version 2 had it, under its message URN.</summary>
[MessageUrn("Shop.Orders:OrderPlaced")]
public sealed record OrderPlacedAsV1(string CustomerId, IReadOnlyList<OrderItem> Items, decimal TotalAmount, string ShippingAddress, string? Currency);

/// <summary>
/// A generated saga started by an event an older build's relay left in its queue: the saga gets the
/// event upcast, as a consumer does (Platform.Runtime.Tests' EventVersionTests), and keeps what the
/// upcast gives in its data, not empty fields.
/// </summary>
public sealed class EventVersionTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite, Transport.InMemory)]
    [InlineData(Store.Postgres, Transport.RabbitMq)]
    public async Task an_order_placed_at_version_1_starts_the_saga_with_the_upcast_currency_and_shipping_method(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport, services: false); // the saga waits for its payment
        var order = Guid.NewGuid();
        var queue = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(
            SagaHost.QueueAddress(host.Options, host.Options.Transport.QueuePrefix + "-saga-orderfulfilment"));

        await queue.Send(new OrderPlacedAsV1("c-1", [new OrderItem("sku-1", 1, 12m)], 12m, "Seoul", Currency: null), Pipe.Execute<SendContext>(context =>
        {
            context.MessageId = Guid.NewGuid();
            context.Headers.Set(PlatformHeaders.StreamId, order.ToString("D"));
            context.Headers.Set(PlatformHeaders.StreamType, "Order");
            context.Headers.Set(PlatformHeaders.StreamVersion, "1");
            context.Headers.Set(PlatformHeaders.PayloadVersion, "1");
        }));

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "AwaitingPayment", "the saga to start",
            state: async () => $"state {await host.StateOfAsync(order)}; logged: {string.Join(" | ", host.Logs.Entries.Take(3))}");
        var data = (await host.Operations.GetAsync(order)).Single().Instance.Data;
        Assert.Contains("\"currency\":\"KRW\"", data, StringComparison.Ordinal);
        Assert.Contains("\"shippingMethod\":\"STANDARD\"", data, StringComparison.Ordinal);
        Assert.Contains("\"customerId\":\"c-1\"", data, StringComparison.Ordinal);
    }
}
