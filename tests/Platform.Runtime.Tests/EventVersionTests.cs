using System.Collections.Concurrent;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Messaging;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Messaging;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// Events sent by the relay of another build, on the transports whose messages are CLR objects in
/// MassTransit's JSON (Kafka records carry the payload's version and are read by it already): one
/// of an older schema version reaches the consumer upcast, not as this build's type with the new
/// fields missing; one of a newer version is a dead letter that keeps it as sent, for the newer
/// build to replay. The messages are sent as the records those builds had, under the event's
/// message URN, so MassTransit writes them as it would have.
/// </summary>
public sealed class EventVersionTests
{
    [SkippableTheory]
    [InlineData(Transport.InMemory)]
    [InlineData(Transport.RabbitMq)]
    public async Task an_event_an_older_build_sent_is_upcast_and_one_a_newer_build_sent_is_dead_lettered_as_sent(Transport transport)
    {
        var received = new PlacedOrders();
        await using var host = await StartAsync(transport, received);
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var queue = await host.Bus.GetSendEndpoint(RetryPipeline.EndpointAddress(host.Options, host.Options.EventQueueName(typeof(PlacedOrderConsumer))));

        // Version 1 had no shipping method and an optional currency: the upcast fills both.
        var old = Guid.NewGuid();
        await queue.Send(new OrderPlacedAsV1("c-old", [new OrderItem("p-1", 2, 9.5m)], 19m, "Seoul", null), SentAt(old, "1"));
        // Version 2 is this build's: it passes as it came.
        var current = Guid.NewGuid();
        await queue.Send(new OrderPlaced("c-now", [], 1.25m, "Busan", "USD", "EXPRESS"), SentAt(current, "2"));
        // Version 3, from a newer build, has a field this build does not know.
        var newer = Guid.NewGuid();
        await queue.Send(new OrderPlacedAsV3("c-new", [], 7m, "Jeju", "EUR", "EXPRESS", GiftWrap: true), SentAt(newer, "3"));

        await Eventually.HoldsAsync(() => Task.FromResult(received.ById.ContainsKey(old) && received.ById.ContainsKey(current)), "both readable events to be consumed",
            state: async () => string.Join("\n", (await letters.ListAsync()).Select(l => $"{l.MessageId} {l.ExceptionType} {l.ExceptionMessage} {l.Payload}")));
        var upcast = received.ById[old];
        Assert.Equal(("c-old", "KRW", "STANDARD", 19m, "Seoul"), (upcast.CustomerId, upcast.Currency, upcast.ShippingMethod, upcast.TotalAmount, upcast.ShippingAddress));
        Assert.Equal(new OrderItem("p-1", 2, 9.5m), Assert.Single(upcast.Items));
        Assert.Equal(("c-now", "USD", "EXPRESS"), (received.ById[current].CustomerId, received.ById[current].Currency, received.ById[current].ShippingMethod));

        // The newer build's event: not retried, not consumed, kept as sent with its version.
        var letter = await DeadLetterTests.WaitForDeadLetterAsync(letters, newer, l => l.MessageId == newer.ToString("D"));
        Assert.Equal((typeof(UnknownEventVersionException).FullName, 1, typeof(OrderPlaced)),
            (letter.ExceptionType, letter.Attempts, Type.GetType(letter.MessageType)));
        Assert.Contains("schema version 3 is not known to this build (it knows up to 2)", letter.ExceptionMessage, StringComparison.Ordinal);
        using (var payload = JsonDocument.Parse(letter.Payload))
            Assert.True(payload.RootElement.GetProperty("giftWrap").GetBoolean());
        Assert.Equal("3", JsonSerializer.Deserialize<Dictionary<string, string>>(letter.Headers)![PlatformHeaders.PayloadVersion]);
        Assert.False(received.ById.ContainsKey(newer));

        // This build cannot replay it: asked to, the letter is Dead again, unchanged.
        Assert.True(await letters.RequestReplayAsync(letter.Id));
        await Eventually.HoldsAsync(async () => (await letters.GetAsync(letter.Id))?.State == DeadLetterState.Dead, "the newer build's letter to be Dead again");
        Assert.Equal(letter.Payload, (await letters.GetAsync(letter.Id))!.Payload);
        Assert.False(received.ById.ContainsKey(newer));
        Assert.Equal([letter.Id], (await letters.ListAsync()).Select(l => l.Id)); // not also taken for a message no consumer takes

        // This build's relay says which version it sends.
        var order = Guid.NewGuid();
        await host.Services.GetRequiredService<Platform.Runtime.Commands.ICommandDispatcher>().DispatchAsync(Orders.Place(order, 1));
        await Eventually.HoldsAsync(() => Task.FromResult(received.ById.Count == 3), "the relayed event to be consumed");
        var relayed = received.ById.Keys.Single(id => id != old && id != current);
        Assert.Equal("2", received.VersionOf[relayed]);
    }

    [SkippableTheory]
    [InlineData(Transport.InMemory)]
    [InlineData(Transport.RabbitMq)]
    public async Task the_dead_letter_of_an_older_builds_event_keeps_it_as_sent_and_replays_it_upcast(Transport transport)
    {
        var received = new PlacedOrders { Failing = true };
        await using var host = await StartAsync(transport, received);
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var queue = await host.Bus.GetSendEndpoint(RetryPipeline.EndpointAddress(host.Options, host.Options.EventQueueName(typeof(PlacedOrderConsumer))));

        var old = Guid.NewGuid();
        await queue.Send(new OrderPlacedAsV1("c-old", [], 3m, "Seoul", "JPY"), SentAt(old, "1"));
        var letter = await DeadLetterTests.WaitForDeadLetterAsync(letters, old, l => l.MessageId == old.ToString("D"));
        Assert.Equal((typeof(InvalidOperationException).FullName, 2), (letter.ExceptionType, letter.Attempts));
        // As sent: version 1's fields only, not this build's type with a null shipping method.
        using (var payload = JsonDocument.Parse(letter.Payload))
            Assert.False(payload.RootElement.TryGetProperty("shippingMethod", out _), letter.Payload);

        received.Failing = false;
        Assert.True(await letters.RequestReplayAsync(letter.Id));
        await Eventually.HoldsAsync(() => Task.FromResult(received.ById.ContainsKey(old)), "the replayed event to be consumed");
        Assert.Equal(("c-old", "JPY", "STANDARD"), (received.ById[old].CustomerId, received.ById[old].Currency, received.ById[old].ShippingMethod));
        await Eventually.HoldsAsync(async () => await letters.GetAsync(letter.Id) is null, "the replayed letter to be removed");
    }

    [SkippableTheory]
    [InlineData(Transport.InMemory)]
    [InlineData(Transport.RabbitMq)]
    public async Task the_letter_of_an_event_an_older_instance_could_not_read_is_replayed_by_this_build_without_being_asked_with_the_events_that_waited_for_it(Transport transport)
    {
        var received = new PlacedOrders();
        await using var host = await StartAsync(transport, received);
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var queue = host.Options.EventQueueName(typeof(PlacedOrderConsumer));

        // As an instance of a build that knew only version 1 wrote them during a rolling upgrade: one
        // at this build's version 2, one at a version 3 that no build running here knows; and the
        // letters of the events after the first in its stream and in another stream, which the order
        // guard gave up on meanwhile.
        DeadLetter Letter(Guid messageId, string stream, int streamVersion, int version, Type exception, string payload) => new(Guid.CreateVersion7(),
            typeof(PlacedOrderConsumer).FullName!, queue, messageId.ToString("D"), typeof(OrderPlaced).AssemblyQualifiedName!, OrderPlaced.EventTypeName,
            stream, streamVersion, streamVersion,
            JsonSerializer.Serialize(new Dictionary<string, string>
            {
                [PlatformHeaders.EventType] = OrderPlaced.EventTypeName,
                [PlatformHeaders.StreamId] = stream,
                [PlatformHeaders.PayloadVersion] = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }),
            payload, exception.FullName!, "as an older build wrote it", "", 1, DateTimeOffset.UtcNow, DeadLetterState.Dead, null);
        static string Placed(string customer) =>
            $$"""{"customerId":"{{customer}}","items":[],"totalAmount":"4.5","shippingAddress":"Busan","currency":"USD","shippingMethod":"EXPRESS"}""";
        var (readable, after, elsewhere, newer) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        // The readable letter last: the replay service polls while they are written, and one poll
        // between it and the letter that waited for it would replay it alone, before the other exists.
        await letters.AddAsync(Letter(after, "order-1", 2, 2, typeof(Consumers.OutOfOrderEventException), Placed("c-2-later")));
        var unrelated = Letter(elsewhere, "order-9", 2, 2, typeof(Consumers.OutOfOrderEventException), Placed("c-9"));
        await letters.AddAsync(unrelated);
        var unreadable = Letter(newer, "order-3", 1, 3, typeof(UnknownEventVersionException),
            """{"customerId":"c-3","items":[],"totalAmount":"1","shippingAddress":"Jeju","currency":"EUR","shippingMethod":"EXPRESS","giftWrap":true}""");
        await letters.AddAsync(unreadable);
        await letters.AddAsync(Letter(readable, "order-1", 1, 2, typeof(UnknownEventVersionException), Placed("c-2")));

        await Eventually.HoldsAsync(() => Task.FromResult(received.ById.ContainsKey(readable) && received.ById.ContainsKey(after)),
            "the readable letter and the one that waited for it to be replayed and consumed");
        Assert.Equal(("c-2", "USD", "EXPRESS", 4.5m), (received.ById[readable].CustomerId, received.ById[readable].Currency,
            received.ById[readable].ShippingMethod, received.ById[readable].TotalAmount));
        Assert.Equal("c-2-later", received.ById[after].CustomerId);
        await Eventually.HoldsAsync(async () => (await letters.ListAsync()).Count == 2, "the replayed letters to be removed");
        await Task.Delay(host.Options.Retries.ReplayPollInterval * 4); // polls that must leave the others alone
        Assert.Equal(new[] { unrelated.Id, unreadable.Id }.Order(), (await letters.ListAsync()).Where(l => l.State == DeadLetterState.Dead).Select(l => l.Id).Order());
        Assert.False(received.ById.ContainsKey(newer) || received.ById.ContainsKey(elsewhere));
    }

    /// <summary>A runtime whose one event consumer records what it gets; one retry, and replays picked up at once.</summary>
    static Task<RuntimeHost> StartAsync(Transport transport, PlacedOrders received) => RuntimeHost.StartAsync(Store.Sqlite, transport,
        services => services.AddSingleton(received),
        cfg =>
        {
            cfg.AddEventConsumer<PlacedOrderConsumer>();
            cfg.Retries.ImmediateRetries = 1;
            cfg.Retries.ExponentialRetries = 0;
            cfg.Retries.ReplayPollInterval = TimeSpan.FromMilliseconds(50);
        });

    static IPipe<SendContext> SentAt(Guid messageId, string version) => Pipe.Execute<SendContext>(context =>
    {
        context.MessageId = messageId;
        context.Headers.Set(PlatformHeaders.EventType, OrderPlaced.EventTypeName);
        context.Headers.Set(PlatformHeaders.PayloadVersion, version);
    });
}

/// <summary>OrderPlaced as the build before version 2 had it (the generated <see cref="OrderPlacedV1"/>'s fields), under its message URN.</summary>
[MessageUrn("Shop.Orders:OrderPlaced")]
sealed record OrderPlacedAsV1(string CustomerId, IReadOnlyList<OrderItem> Items, decimal TotalAmount, string ShippingAddress, string? Currency);

/// <summary>OrderPlaced as a build with a version 3 would have it.</summary>
[MessageUrn("Shop.Orders:OrderPlaced")]
sealed record OrderPlacedAsV3(string CustomerId, IReadOnlyList<OrderItem> Items, decimal TotalAmount, string ShippingAddress, string Currency,
    string ShippingMethod, bool GiftWrap);

sealed class PlacedOrders
{
    public ConcurrentDictionary<Guid, OrderPlaced> ById { get; } = new();

    public ConcurrentDictionary<Guid, string?> VersionOf { get; } = new();

    public volatile bool Failing;
}

sealed class PlacedOrderConsumer(PlacedOrders orders) : IConsumer<OrderPlaced>
{
    public Task Consume(ConsumeContext<OrderPlaced> context)
    {
        if (orders.Failing)
            throw new InvalidOperationException("the consumer is broken until the fix");
        orders.VersionOf[context.MessageId!.Value] = context.Headers.Get<string>(PlatformHeaders.PayloadVersion);
        orders.ById[context.MessageId!.Value] = context.Message;
        return Task.CompletedTask;
    }
}
