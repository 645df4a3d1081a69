using System.Collections.Concurrent;
using MassTransit;
using Microsoft.EntityFrameworkCore;
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

/// <summary>An idempotent consumer that logs the stream and version of what it consumed.</summary>
abstract class RecordingOrderConsumer(SqlEventStore store, LateLog log) : IdempotentEventConsumer(store)
{
    protected Task Record<T>(ConsumeContext<T> context) where T : class => ConsumeOnceAsync(context, (@event, _) =>
    {
        log.Consumed.Enqueue((@event.Event.StreamId, @event.Event.StreamVersion));
        return Task.CompletedTask;
    });
}

/// <summary>An idempotent consumer of an order's placement and confirmation, deployed after orders exist.</summary>
sealed class LateOrderConsumer(SqlEventStore store, LateLog log) : RecordingOrderConsumer(store, log),
    IConsumer<OrderPlaced>, IConsumer<OrderConfirmed>
{
    public Task Consume(ConsumeContext<OrderPlaced> context) => Record(context);

    public Task Consume(ConsumeContext<OrderConfirmed> context) => Record(context);
}

/// <summary>
/// <see cref="ShippingOrderConsumer"/> before it handled confirmations and shipments: the same inbox name, fewer event types.
/// </summary>
sealed class EarlierOrderConsumer(SqlEventStore store, LateLog log) : RecordingOrderConsumer(store, log), IConsumer<OrderPlaced>
{
    protected override string ConsumerName => typeof(ShippingOrderConsumer).FullName!;

    public Task Consume(ConsumeContext<OrderPlaced> context) => Record(context);
}

/// <summary>The next release of <see cref="EarlierOrderConsumer"/>: it handles confirmations and shipments too.</summary>
sealed class ShippingOrderConsumer(SqlEventStore store, LateLog log) : RecordingOrderConsumer(store, log),
    IConsumer<OrderPlaced>, IConsumer<OrderConfirmed>, IConsumer<OrderShipped>
{
    public Task Consume(ConsumeContext<OrderPlaced> context) => Record(context);

    public Task Consume(ConsumeContext<OrderConfirmed> context) => Record(context);

    public Task Consume(ConsumeContext<OrderShipped> context) => Record(context);
}

/// <summary>A consumer added to a running system, or given more event types.</summary>
public sealed class LateConsumerTests
{
    // The next release: starts with TConsumer, sends the command, and checks that the consumer took
    // the one event it caused (version `version` of the order) and that nothing was dead-lettered.
    static async Task NextReleaseConsumesAsync<TConsumer>(TestDatabase database, object command, Guid order, long version)
        where TConsumer : class, IConsumer
    {
        await using var after = await RuntimeHost.StartOnAsync(database, Transport.InMemory,
            services: services => services.AddSingleton<LateLog>(),
            configure: cfg =>
            {
                cfg.AddEventConsumer<TConsumer>();
                cfg.Transport.OutOfOrderRetries = 3;
                cfg.Retries.ImmediateRetries = 0;
                cfg.Retries.ExponentialRetries = 0;
            });
        var log = after.Services.GetRequiredService<LateLog>();
        await after.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(command);

        var letters = after.Services.GetRequiredService<DeadLetterStore>();
        await Eventually.HoldsAsync(async () => log.Consumed.Contains((order.ToString("D"), version)) || (await letters.ListAsync()).Count > 0,
            $"version {version} consumed or dead-lettered");
        Assert.Empty(await letters.ListAsync());
        Assert.Equal([(order.ToString("D"), version)], log.Consumed.ToArray());
    }

    // The release before: a runtime (with TConsumer, if any) runs the commands, and the test waits
    // until its relay has published every stored event, so the next release starts after them.
    static async Task PreviousReleaseRunsAsync(TestDatabase database, Action<Platform.Runtime.Configuration.PlatformOptions>? configure,
        params object[] commands)
    {
        await using var before = await RuntimeHost.StartOnAsync(database, Transport.InMemory,
            services: services => services.AddSingleton<LateLog>(), configure: configure);
        var dispatcher = before.Services.GetRequiredService<ICommandDispatcher>();
        foreach (var command in commands)
            await dispatcher.DispatchAsync(command);
        await Eventually.HoldsAsync(async () => await before.EventStore.GetHeadPositionAsync() is > 0 and var head
            && await before.EventStore.GetCheckpointAsync("outbox") >= head, "every event published");
        if (configure is not null) // its consumer took the placement before it stopped
            await Eventually.HoldsAsync(() => Task.FromResult(!before.Services.GetRequiredService<LateLog>().Consumed.IsEmpty), "the placement consumed");
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_consumer_deployed_after_a_streams_first_events_consumes_its_next_ones(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "runtime");
        var order = Guid.NewGuid();
        await PreviousReleaseRunsAsync(database, null, Orders.Place(order, 1));
        await NextReleaseConsumesAsync<LateOrderConsumer>(database, new ConfirmOrder(order), order, 2);
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_consumer_given_more_event_types_does_not_wait_for_earlier_events_of_those_types(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "runtime");
        var order = Guid.NewGuid();
        // The confirmation is not a type the earlier release handles.
        await PreviousReleaseRunsAsync(database, cfg => cfg.AddEventConsumer<EarlierOrderConsumer>(), Orders.Place(order, 1), new ConfirmOrder(order));
        await NextReleaseConsumesAsync<ShippingOrderConsumer>(database, new ShipOrder(order, "track-1"), order, 3);
    }

    // Another instance's relay keeps publishing while this one starts. What it publishes after the
    // bus made the consumer's queue reaches the queue, so the start must be where the relay was
    // before the queue existed: read later, the guard would not wait for such an event, a later
    // event of its stream could go first, and the event would then count as a redelivery.
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task the_start_is_where_the_relay_was_before_the_consumers_queue_existed(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "runtime");
        await PreviousReleaseRunsAsync(database, null, Orders.Place(Guid.NewGuid(), 1));
        await using var host = await RuntimeHost.StartOnAsync(database, Transport.InMemory,
            services: services => services.AddSingleton<LateLog>(), configure: cfg => cfg.AddEventConsumer<LateOrderConsumer>());
        var before = await host.EventStore.GetCheckpointAsync("outbox");
        Assert.True(before > 0);
        using var scope = host.Services.CreateScope();
        var consumer = (IdempotentEventConsumer)scope.ServiceProvider.GetRequiredService<LateOrderConsumer>();
        var starts = consumer.HandledTypes.Select(type => SqlEventStore.InboxStartName(consumer.InboxName, type)).ToArray();
        foreach (var start in starts)
            Assert.Equal(before, await host.EventStore.GetCheckpointAsync(start)); // recorded by the host's own start

        await using (var context = host.EventStore.CreateDbContext())
            await context.SubscriptionCheckpoints.Where(c => starts.Contains(c.Name)).ExecuteDeleteAsync();
        var inboxStarts = ActivatorUtilities.CreateInstance<InboxStarts>(host.Services);
        await inboxStarts.StartingAsync(CancellationToken.None);
        await host.EventStore.SaveCheckpointAsync("outbox", before + 100); // published meanwhile, after the queue was made
        await inboxStarts.StartAsync(CancellationToken.None);

        foreach (var start in starts)
            Assert.Equal(before, await host.EventStore.GetCheckpointAsync(start));
    }
}
