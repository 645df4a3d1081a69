using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Commands;
using Platform.Runtime.Consumers;
using Platform.Runtime.DeadLetters;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// A poison event's stream: the events after it wait in the order guard, are dead-lettered when
/// its retries run out, and all of the stream's letters replayed together after the fix are applied
/// once each, in version order, whatever order they were asked for in.
/// </summary>
public sealed class StreamReplayTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite, Transport.InMemory)]
    [InlineData(Store.Postgres, Transport.RabbitMq)]
    [InlineData(Store.Sqlite, Transport.Kafka)]
    public async Task the_events_after_a_poison_event_are_dead_lettered_by_the_order_guard_and_replayed_with_it_in_version_order(Store store, Transport transport)
    {
        var applied = new StreamLog();
        await using var host = await RuntimeHost.StartAsync(store, transport,
            services => services.AddSingleton(applied),
            cfg =>
            {
                cfg.AddEventConsumer<PoisonableStreamConsumer>();
                cfg.Retries.ImmediateRetries = 2;
                cfg.Retries.ExponentialRetries = 0;
                cfg.Retries.ReplayPollInterval = TimeSpan.FromMilliseconds(50);
                // The guard gives up after about 1.3 s, not 25 s; long enough still for a replayed stream's
                // versions, delivered concurrently, to pass it in order.
                cfg.Transport.OutOfOrderRetries = 12;
                cfg.Projections.Enabled = false;
            });
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var order = Guid.NewGuid();
        var stream = order.ToString("D");
        applied.Poisoned = stream;

        await dispatcher.DispatchAsync(Orders.Place(order, 1));
        await dispatcher.DispatchAsync(new ConfirmOrder(order));
        await dispatcher.DispatchAsync(new ShipOrder(order, "track-1"));
        IReadOnlyList<DeadLetter> stored = [];
        await Eventually.HoldsAsync(async () => (stored = await letters.ListAsync()).Count == 3, "the stream's three letters",
            state: () => Task.FromResult(string.Join("; ", stored.Select(l => $"v{l.StreamVersion} {l.ExceptionType}"))));
        Assert.Equal([(1L, typeof(InvalidOperationException).FullName), (2L, typeof(OutOfOrderEventException).FullName), (3L, typeof(OutOfOrderEventException).FullName)],
            stored.OrderBy(l => l.StreamVersion).Select(l => (l.StreamVersion!.Value, l.ExceptionType)));
        Assert.Empty(applied.Versions);

        // Fixed; every letter of the stream asked for together (as `platform dlq replay` does), the last version first.
        applied.Poisoned = null;
        var ids = stored.OrderByDescending(l => l.StreamVersion).Select(l => l.Id).ToArray();
        Assert.Equal(ids, await letters.RequestReplayAsync(ids));
        // An attempt whose commit group rolled back runs again (InboxCommitGroups): only distinct versions count.
        await Eventually.HoldsAsync(() => Task.FromResult(applied.Versions.Distinct().Count() == 3), "the stream's events to be applied",
            state: async () => $"applied {string.Join(",", applied.Versions)}; letters: " +
                string.Join("; ", (await letters.ListAsync()).Select(l => $"v{l.StreamVersion} {l.State} {l.ExceptionType}")));
        Assert.Equal([1L, 2L, 3L], applied.Versions.Distinct());
        await Eventually.HoldsAsync(async () => (await letters.ListAsync(includeDiscarded: true)).Count == 0, "every letter to be removed");
        Assert.Equal(3, await host.EventStore.GetConsumerStreamVersionAsync(typeof(PoisonableStreamConsumer).FullName!, stream));
    }
}

/// <summary>The versions <see cref="PoisonableStreamConsumer"/> applied, in the order it applied them.</summary>
sealed class StreamLog
{
    public ConcurrentQueue<long> Versions { get; } = new();

    public volatile string? Poisoned;
}

/// <summary>An ordered, idempotent consumer of an order's first three events that fails on a poisoned order's first.</summary>
sealed class PoisonableStreamConsumer(SqlEventStore store, StreamLog log) : IdempotentEventConsumer(store),
    IConsumer<OrderPlaced>, IConsumer<OrderConfirmed>, IConsumer<OrderShipped>
{
    public Task Consume(ConsumeContext<OrderPlaced> context) => ApplyAsync(context);

    public Task Consume(ConsumeContext<OrderConfirmed> context) => ApplyAsync(context);

    public Task Consume(ConsumeContext<OrderShipped> context) => ApplyAsync(context);

    Task ApplyAsync<T>(ConsumeContext<T> context) where T : class => ConsumeOnceAsync(context, (@event, _) =>
    {
        if (@event.Event.StreamId == log.Poisoned && @event.Event.StreamVersion == 1)
            throw new InvalidOperationException("the consumer is broken until the fix");
        log.Versions.Enqueue(@event.Event.StreamVersion);
        return Task.CompletedTask;
    });
}
