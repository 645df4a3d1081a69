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
/// its retries run out, and after the fix are applied once each, in version order: whether all of
/// the stream's letters are replayed together, in any order, or the poison event's alone (the guard's
/// letters then follow by themselves).
/// </summary>
public sealed class StreamReplayTests
{
    public static TheoryData<Store, Transport> Transports => new()
    {
        { Store.Sqlite, Transport.InMemory },
        { Store.Postgres, Transport.RabbitMq },
        { Store.Sqlite, Transport.Kafka },
    };

    [SkippableTheory]
    [MemberData(nameof(Transports))]
    public async Task the_events_after_a_poison_event_are_dead_lettered_by_the_order_guard_and_replayed_with_it_in_version_order(Store store, Transport transport)
    {
        var applied = new StreamLog();
        await using var host = await StartAsync(store, transport, applied);
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var stream = await PoisonAsync(host, applied);
        var stored = await StreamLettersAsync(letters, 3);
        Assert.Empty(applied.Versions);

        // Fixed; every letter of the stream asked for together (as `platform dlq replay` does), the last version first.
        applied.Poisoned.Clear();
        var ids = stored.OrderByDescending(l => l.StreamVersion).Select(l => l.Id).ToArray();
        Assert.Equal(ids, await letters.RequestReplayAsync(ids));
        await AppliedInOrderAsync(applied, letters);
        await Eventually.HoldsAsync(async () => (await letters.ListAsync(includeDiscarded: true)).Count == 0, "every letter to be removed");
        Assert.Equal(3, await host.EventStore.GetConsumerStreamVersionAsync(typeof(PoisonableStreamConsumer).FullName!, stream));
    }

    [SkippableTheory]
    [MemberData(nameof(Transports))]
    public async Task once_the_poison_event_alone_is_replayed_the_events_the_order_guard_gave_up_on_follow_by_themselves(Store store, Transport transport)
    {
        var applied = new StreamLog();
        await using var host = await StartAsync(store, transport, applied);
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var fixedStream = await PoisonAsync(host, applied);
        var stillPoisoned = await PoisonAsync(host, applied);
        var stored = await StreamLettersAsync(letters, 6);

        // Polls meanwhile leave every guard letter alone: the event each waits for is not applied.
        await Task.Delay(host.Options.Retries.ReplayPollInterval * 4);
        Assert.Equal(6, (await letters.ListAsync()).Count(l => l.State == DeadLetterState.Dead));

        // The operator replays the fixed stream's poison event only.
        applied.Poisoned.TryRemove(fixedStream, out _);
        var poison = stored.Single(l => l.StreamId == fixedStream && l.StreamVersion == 1);
        Assert.True(await letters.RequestReplayAsync(poison.Id));
        await AppliedInOrderAsync(applied, letters);
        await Eventually.HoldsAsync(async () => (await letters.ListAsync()).All(l => l.StreamId == stillPoisoned), "the fixed stream's letters to be removed");
        Assert.Equal(3, await host.EventStore.GetConsumerStreamVersionAsync(typeof(PoisonableStreamConsumer).FullName!, fixedStream));

        // The other stream's are still Dead, its poison event unapplied.
        await Task.Delay(host.Options.Retries.ReplayPollInterval * 4);
        Assert.Equal(stored.Where(l => l.StreamId == stillPoisoned).Select(l => l.Id).Order(),
            (await letters.ListAsync()).Where(l => l.State == DeadLetterState.Dead).Select(l => l.Id).Order());
        Assert.Equal(0, await host.EventStore.GetConsumerStreamVersionAsync(typeof(PoisonableStreamConsumer).FullName!, stillPoisoned));
    }

    [Fact]
    public void the_streams_asked_about_a_poll_go_round_so_ones_that_never_close_do_not_starve_the_others()
    {
        int[] streams = [0, 1, 2, 3, 4];
        var cursor = 0;
        Assert.Equal([0, 1], DeadLetterReplayService.NextWindow(streams, ref cursor, 2));
        Assert.Equal([2, 3], DeadLetterReplayService.NextWindow(streams, ref cursor, 2));
        Assert.Equal([4, 0], DeadLetterReplayService.NextWindow(streams, ref cursor, 2));
        // Fewer streams by the next poll (some replayed): the cursor wraps within them.
        Assert.Equal([1, 2], DeadLetterReplayService.NextWindow([0, 1, 2], ref cursor, 2));
        Assert.Equal([0, 1, 2], DeadLetterReplayService.NextWindow([0, 1, 2], ref cursor, 100));
        Assert.Empty(DeadLetterReplayService.NextWindow(Array.Empty<int>(), ref cursor, 2));
    }

    static Task<RuntimeHost> StartAsync(Store store, Transport transport, StreamLog applied) => RuntimeHost.StartAsync(store, transport,
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

    // An order whose first event the consumer fails on, and its next two events: its stream.
    static async Task<string> PoisonAsync(RuntimeHost host, StreamLog applied)
    {
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var order = Guid.NewGuid();
        var stream = order.ToString("D");
        applied.Poisoned[stream] = true;
        await dispatcher.DispatchAsync(Orders.Place(order, 1));
        await dispatcher.DispatchAsync(new ConfirmOrder(order));
        await dispatcher.DispatchAsync(new ShipOrder(order, "track-1"));
        return stream;
    }

    // Each poisoned stream's three letters: its first event's failure, and the guard's for the next two.
    static async Task<IReadOnlyList<DeadLetter>> StreamLettersAsync(DeadLetterStore letters, int count)
    {
        IReadOnlyList<DeadLetter> stored = [];
        await Eventually.HoldsAsync(async () => (stored = await letters.ListAsync()).Count == count, $"the streams' {count} letters",
            state: () => Task.FromResult(string.Join("; ", stored.Select(l => $"{l.StreamId} v{l.StreamVersion} {l.ExceptionType}"))));
        foreach (var stream in stored.GroupBy(l => l.StreamId))
        {
            Assert.Equal([(1L, typeof(InvalidOperationException).FullName), (2L, typeof(OutOfOrderEventException).FullName), (3L, typeof(OutOfOrderEventException).FullName)],
                stream.OrderBy(l => l.StreamVersion).Select(l => (l.StreamVersion!.Value, (string?)l.ExceptionType)));
        }
        return stored;
    }

    // An attempt whose commit group rolled back runs again (InboxCommitGroups): only distinct versions count.
    static async Task AppliedInOrderAsync(StreamLog applied, DeadLetterStore letters)
    {
        await Eventually.HoldsAsync(() => Task.FromResult(applied.Versions.Distinct().Count() == 3), "the stream's events to be applied",
            state: async () => $"applied {string.Join(",", applied.Versions)}; letters: " +
                string.Join("; ", (await letters.ListAsync()).Select(l => $"{l.StreamId} v{l.StreamVersion} {l.State} {l.ExceptionType}")));
        Assert.Equal([1L, 2L, 3L], applied.Versions.Distinct());
    }
}

/// <summary>The versions <see cref="PoisonableStreamConsumer"/> applied, in the order it applied them.</summary>
sealed class StreamLog
{
    public ConcurrentQueue<long> Versions { get; } = new();

    public ConcurrentDictionary<string, bool> Poisoned { get; } = new();
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
        if (@event.Event.StreamVersion == 1 && log.Poisoned.ContainsKey(@event.Event.StreamId))
            throw new InvalidOperationException("the consumer is broken until the fix");
        log.Versions.Enqueue(@event.Event.StreamVersion);
        return Task.CompletedTask;
    });
}
