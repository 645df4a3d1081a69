using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Commands;
using Platform.Runtime.Consumers;
using Platform.Runtime.DeadLetters;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>What <see cref="LateOrderConsumer"/> consumed, stream and version.</summary>
public sealed class LateLog
{
    public ConcurrentQueue<(string Stream, long Version)> Consumed { get; } = new();
}

/// <summary>An idempotent consumer of an order's placement and confirmation, deployed after orders exist.</summary>
sealed class LateOrderConsumer(SqlEventStore store, LateLog log) : IdempotentEventConsumer(store),
    IConsumer<OrderPlaced>, IConsumer<OrderConfirmed>
{
    public Task Consume(ConsumeContext<OrderPlaced> context) => Record(context);

    public Task Consume(ConsumeContext<OrderConfirmed> context) => Record(context);

    Task Record<T>(ConsumeContext<T> context) where T : class => ConsumeOnceAsync(context, (@event, _) =>
    {
        log.Consumed.Enqueue((@event.Event.StreamId, @event.Event.StreamVersion));
        return Task.CompletedTask;
    });
}

/// <summary>A consumer added to a running system.</summary>
public sealed class LateConsumerTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_consumer_deployed_after_a_streams_first_events_consumes_its_next_ones(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "runtime");
        var order = Guid.NewGuid();
        await using (var before = await RuntimeHost.StartOnAsync(database, Transport.InMemory))
        {
            await before.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(order, 1));
            // Published by this runtime's relay: the next one starts after it.
            await Eventually.HoldsAsync(async () => await before.EventStore.GetHeadPositionAsync() is > 0 and var head
                && await before.EventStore.GetCheckpointAsync("outbox") >= head, "the placement published");
        }

        await using var after = await RuntimeHost.StartOnAsync(database, Transport.InMemory,
            services: services => services.AddSingleton<LateLog>(),
            configure: cfg =>
            {
                cfg.AddEventConsumer<LateOrderConsumer>();
                cfg.Transport.OutOfOrderRetries = 3;
                cfg.Retries.ImmediateRetries = 0;
                cfg.Retries.ExponentialRetries = 0;
            });
        var log = after.Services.GetRequiredService<LateLog>();
        await after.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(new ConfirmOrder(order));

        var letters = after.Services.GetRequiredService<DeadLetterStore>();
        await Eventually.HoldsAsync(async () => log.Consumed.Contains((order.ToString("D"), 2)) || (await letters.ListAsync()).Count > 0,
            "the confirmation consumed or dead-lettered");
        Assert.Empty(await letters.ListAsync());
        Assert.Equal([(order.ToString("D"), 2L)], log.Consumed.ToArray());
    }
}
