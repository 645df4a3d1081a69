using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Consumers;
using Platform.Runtime.DeadLetters;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>Which orders the <see cref="PoisonableConsumer"/> fails on, and what it saw.</summary>
sealed class PoisonSwitch
{
    readonly ConcurrentDictionary<string, bool> _poisoned = new();

    public ConcurrentDictionary<string, int> Attempts { get; } = new();

    public ConcurrentDictionary<string, Guid> Consumed { get; } = new();

    public void Poison(Guid order) => _poisoned[order.ToString("D")] = true;

    public void Heal(Guid order) => _poisoned.TryRemove(order.ToString("D"), out _);

    public bool IsPoisoned(string streamId) => _poisoned.ContainsKey(streamId);

    public int AttemptsOf(Guid order) => Attempts.GetValueOrDefault(order.ToString("D"));
}

/// <summary>An idempotent consumer of OrderPlaced that throws for poisoned orders: the bug an operator later fixes.</summary>
sealed class PoisonableConsumer(SqlEventStore store, PoisonSwitch poison) : IdempotentEventConsumer<OrderPlaced>(store)
{
    protected override Task HandleAsync(TransactionalEventContext<OrderPlaced> context, CancellationToken cancellationToken)
    {
        var stream = context.Event.StreamId;
        poison.Attempts.AddOrUpdate(stream, 1, (_, n) => n + 1);
        if (poison.IsPoisoned(stream))
            throw new InvalidOperationException($"order {stream} is poison");
        poison.Consumed[stream] = context.Event.EventId;
        return Task.CompletedTask;
    }
}

/// <summary>Retries, then dead letters, then replay (issue 6).</summary>
public sealed class DeadLetterTests
{
    internal static Task<RuntimeHost> StartAsync(Store store, Transport transport, int immediate, int exponential, TimeSpan minInterval) =>
        RuntimeHost.StartAsync(store, transport,
            services => services.AddSingleton<PoisonSwitch>(),
            cfg =>
            {
                cfg.AddEventConsumer<PoisonableConsumer>();
                cfg.Retries.ImmediateRetries = immediate;
                cfg.Retries.ExponentialRetries = exponential;
                cfg.Retries.MinInterval = minInterval;
                cfg.Retries.MaxInterval = minInterval * 1.5;
                cfg.Retries.ReplayPollInterval = TimeSpan.FromMilliseconds(50);
                cfg.Projections.Enabled = false;
            });

    internal static async Task<DeadLetter> WaitForDeadLetterAsync(DeadLetterStore letters, Guid order, Func<DeadLetter, bool>? match = null)
    {
        match ??= l => l.StreamId == order.ToString("D");
        DeadLetter? found = null;
        await Eventually.HoldsAsync(async () => (found = (await letters.ListAsync()).SingleOrDefault(match)) is not null,
            $"the dead letter of order {order}");
        return found!;
    }

    [SkippableTheory]
    [MemberData(nameof(Transports.EveryStoreAndQueueTransport), MemberType = typeof(Transports))]
    public async Task a_poison_event_is_retried_as_configured_then_dead_lettered_while_other_aggregates_flow_and_replays_after_the_fix(
        Store store, Transport transport)
    {
        // 2 immediate + 2 exponential retries: 5 attempts, with waits of 1 s and 1.5 s that the
        // other orders must not wait for.
        await using var host = await StartAsync(store, transport, immediate: 2, exponential: 2, TimeSpan.FromSeconds(1));
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var poison = host.Services.GetRequiredService<PoisonSwitch>();
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var poisoned = Guid.NewGuid();
        poison.Poison(poisoned);

        await dispatcher.DispatchAsync(Orders.Place(poisoned, 1));
        await Eventually.HoldsAsync(() => Task.FromResult(poison.AttemptsOf(poisoned) >= 1), "the first attempt at the poison event");
        var others = Enumerable.Range(2, 6).Select(_ => Guid.NewGuid()).ToArray();
        for (var i = 0; i < others.Length; i++)
            await dispatcher.DispatchAsync(Orders.Place(others[i], i + 2));
        await Eventually.HoldsAsync(() => Task.FromResult(others.All(o => poison.Consumed.ContainsKey(o.ToString("D")))),
            "the other orders' events");
        Assert.True(poison.AttemptsOf(poisoned) < 5, "the other orders were consumed only after the poison event ran out of retries");
        Assert.Empty(await letters.ListAsync());

        var letter = await WaitForDeadLetterAsync(letters, poisoned);
        var stored = (await host.EventStore.ReadStreamAsync(poisoned.ToString("D")).ToListAsync()).Single();
        Assert.Equal(5, poison.AttemptsOf(poisoned));
        Assert.Equal(5, letter.Attempts);
        Assert.Equal(DeadLetterState.Dead, letter.State);
        Assert.Equal(typeof(PoisonableConsumer).FullName, letter.Consumer);
        Assert.Equal(host.Options.EventQueueName(typeof(PoisonableConsumer)), letter.Endpoint);
        Assert.Equal(typeof(InvalidOperationException).FullName, letter.ExceptionType);
        Assert.Equal($"order {poisoned:D} is poison", letter.ExceptionMessage);
        // The stack trace is kept. Which frames it shows depends on the JIT (a small consumer method
        // can be inlined at tier 1, as in one CI run), so only its presence is asserted.
        Assert.StartsWith(typeof(InvalidOperationException).FullName + ": order", letter.ExceptionDetail, StringComparison.Ordinal);
        Assert.Contains("\n   at ", letter.ExceptionDetail, StringComparison.Ordinal);
        Assert.Equal(OrderPlaced.EventTypeName, letter.EventType);
        Assert.Equal(stored.EventId.ToString("D"), letter.MessageId);
        Assert.Equal(1, letter.StreamVersion);
        Assert.Equal(stored.GlobalPosition, letter.GlobalPosition);
        Assert.Equal(typeof(OrderPlaced), Type.GetType(letter.MessageType));
        Assert.Contains(poisoned.ToString("D"), letter.Headers, StringComparison.Ordinal);
        Assert.False(poison.Consumed.ContainsKey(poisoned.ToString("D")));

        poison.Heal(poisoned);
        Assert.True(await letters.RequestReplayAsync(letter.Id));
        await Eventually.HoldsAsync(() => Task.FromResult(poison.Consumed.ContainsKey(poisoned.ToString("D"))), "the replayed event");
        await Eventually.HoldsAsync(async () => await letters.GetAsync(letter.Id) is null, "the replayed letter to be removed");
        Assert.Equal(6, poison.AttemptsOf(poisoned));
        Assert.Equal(stored.EventId, poison.Consumed[poisoned.ToString("D")]);
        // The replay moved the consumer's row for the stream: the same event again would change nothing.
        Assert.Equal(stored.StreamVersion, await host.EventStore.GetConsumerStreamVersionAsync(typeof(PoisonableConsumer).FullName!, stored.StreamId));
        Assert.Empty(await letters.ListAsync(includeDiscarded: true));
        // Each other order's effects committed once. A delivery that shared a group transaction with
        // the poison event and ran before it ran once more after the rollback (InboxCommitGroups).
        Assert.All(others, o => Assert.InRange(poison.AttemptsOf(o), 1, 2));
        foreach (var other in others)
        {
            var placed = (await host.EventStore.ReadStreamAsync(other.ToString("D")).ToListAsync()).Single();
            Assert.Equal(placed.EventId, poison.Consumed[other.ToString("D")]);
            Assert.Equal(placed.StreamVersion, await host.EventStore.GetConsumerStreamVersionAsync(typeof(PoisonableConsumer).FullName!, placed.StreamId));
        }
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_started_runtime_has_its_dead_letter_table_before_any_letter_or_replay_poll(Store store)
    {
        // The replay service polls only after an hour, so nothing but the start can have made the table.
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory, configure: cfg => cfg.Retries.ReplayPollInterval = TimeSpan.FromHours(1));
        Assert.Equal(0, await Orders.CountRowsAsync(host.EventStore, "message_dead_letters"));
        // With the index the replay service's polls read by.
        Assert.Equal(1, await Orders.CountRowsAsync(host.EventStore, store == Store.Sqlite
            ? "sqlite_master WHERE type = 'index' AND name = 'ix_message_dead_letters_state'"
            : "pg_indexes WHERE indexname = 'ix_message_dead_letters_state'"));
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task the_counts_per_endpoint_that_platform_status_shows_leave_out_discarded_letters_and_create_nothing(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "dlq-counts");
        var letters = new DeadLetterStore(store == Store.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite, database.ConnectionString);
        Assert.Empty(await letters.CountByEndpointAsync());
        await using (var connection = await Sql.OpenAsync(store == Store.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite, database.ConnectionString, default))
        {
            await using var exists = connection.CreateCommand();
            exists.CommandText = store == Store.Postgres
                ? "SELECT count(*) FROM pg_tables WHERE tablename = 'message_dead_letters'"
                : "SELECT count(*) FROM sqlite_master WHERE name = 'message_dead_letters'";
            Assert.Equal(0L, Convert.ToInt64(await exists.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture)); // a reader's role may not create it
        }

        var oldest = new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
        DeadLetter Letter(string endpoint, DeadLetterState state, int minutesLater) => new(Guid.CreateVersion7(), "consumer", endpoint, null, "type",
            null, null, null, null, "{}", "{}", "System.Exception", "failed", "failed", 1, oldest.AddMinutes(minutesLater), state,
            state == DeadLetterState.Discarded ? "withdrawn" : null);
        await letters.AddAsync(Letter("orders", DeadLetterState.Discarded, -60)); // discarded: not counted, not the oldest
        await letters.AddAsync(Letter("orders", DeadLetterState.Dead, 0));
        await letters.AddAsync(Letter("orders", DeadLetterState.Dead, 5));
        await letters.AddAsync(Letter("orders", DeadLetterState.ReplayRequested, 10));
        await letters.AddAsync(Letter("billing", DeadLetterState.ReplayRequested, 30));
        Assert.Equal([new DeadLetterCount("billing", 0, 1, oldest.AddMinutes(30)), new DeadLetterCount("orders", 2, 1, oldest)],
            await letters.CountByEndpointAsync());
    }

    [SkippableFact]
    public async Task of_two_instances_polling_one_store_only_one_sends_each_requested_letter()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Postgres, "runtime");
        var deliveries = new ConcurrentDictionary<Guid, int>();
        var prefix = "two-" + Guid.NewGuid().ToString("N")[..8];
        Task<RuntimeHost> StartAsync() => RuntimeHost.StartOnAsync(database, Transport.InMemory,
            services: services => services.AddSingleton(deliveries),
            configure: cfg =>
            {
                cfg.Transport.QueuePrefix = prefix; // the same queues in both, as instances of one service have
                cfg.AddEventConsumer<DeliveryCountingConsumer>();
                cfg.Retries.ReplayPollInterval = TimeSpan.FromMilliseconds(20);
                cfg.Projections.Enabled = false;
            });
        await using var first = await StartAsync();
        await using var second = await StartAsync();
        var letters = first.Services.GetRequiredService<DeadLetterStore>();
        var queue = first.Options.EventQueueName(typeof(DeliveryCountingConsumer));

        // Enough letters that both instances' polls find requests the other has not sent yet.
        var ids = new List<Guid>();
        for (var n = 0; n < 200; n++)
        {
            var letter = new DeadLetter(Guid.CreateVersion7(), typeof(DeliveryCountingConsumer).FullName!, queue, Guid.NewGuid().ToString("D"),
                typeof(OrderPlaced).AssemblyQualifiedName!, OrderPlaced.EventTypeName, $"order-{n}", 1, null, "{}",
                """{"customerId":"c","items":[],"totalAmount":1,"shippingAddress":"Busan","currency":"USD","shippingMethod":"EXPRESS"}""",
                "System.Exception", "failed", "failed", 1, DateTimeOffset.UtcNow, DeadLetterState.Dead, null);
            await letters.AddAsync(letter);
            ids.Add(letter.Id);
        }
        Assert.Equal(ids.Count, (await letters.RequestReplayAsync(ids)).Count);

        await Eventually.HoldsAsync(async () => (await letters.ListAsync()).Count == 0, "every letter to be replayed and removed");
        await Eventually.HoldsAsync(() => Task.FromResult(deliveries.Count == ids.Count), "every replayed message to be consumed",
            state: () => Task.FromResult($"{deliveries.Count} consumed"));
        await Task.Delay(TimeSpan.FromMilliseconds(200)); // a second send, if any, would arrive meanwhile
        Assert.Equal([(1, ids.Count)], deliveries.Values.GroupBy(count => count).Select(g => (g.Key, g.Count())));
    }

    // One order placed poisoned, and its dead letter.
    static async Task<(PoisonSwitch Poison, DeadLetterStore Letters, Guid Order, DeadLetter Letter)> DeadLetterOfOnePoisonedOrderAsync(RuntimeHost host)
    {
        var poison = host.Services.GetRequiredService<PoisonSwitch>();
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var poisoned = Guid.NewGuid();
        poison.Poison(poisoned);
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(poisoned, 1));
        return (poison, letters, poisoned, await WaitForDeadLetterAsync(letters, poisoned));
    }

    [SkippableFact]
    public async Task a_letter_this_build_cannot_replay_is_dead_again_and_does_not_hold_up_the_letters_after_it()
    {
        await using var host = await StartAsync(Store.Sqlite, Transport.InMemory, immediate: 1, exponential: 0, TimeSpan.Zero);
        var (poison, letters, poisoned, good) = await DeadLetterOfOnePoisonedOrderAsync(host);

        // Older, so listed first: one whose payload is not its type in JSON (an unreadable Kafka
        // record's), one whose type this build does not have.
        var unreadable = new DeadLetter(Guid.CreateVersion7(), good.Consumer, good.Endpoint, Guid.NewGuid().ToString("D"), good.MessageType, good.EventType,
            "order-unreadable", 1, null, "{}", "{\"customerId\": [not json", "Platform.Runtime.Kafka.UnreadableRecordException", "unreadable", "unreadable", 1,
            good.FailedAt.AddMinutes(-2), DeadLetterState.Dead, null);
        var unknown = new DeadLetter(Guid.CreateVersion7(), good.Consumer, good.Endpoint, Guid.NewGuid().ToString("D"), "Shop.Future.OrderTeleported, Shop.Future", null,
            "order-unknown", 1, null, "{}", "{}", "System.Exception", "unknown", "unknown", 1, good.FailedAt.AddMinutes(-1), DeadLetterState.Dead, null);
        // And one of an endpoint this runtime does not have (its consumer removed): in memory no other
        // process has it either, and a message sent there would be lost with the letter.
        var removed = good with { Id = Guid.CreateVersion7(), Endpoint = "orders-removed-consumer", MessageId = Guid.NewGuid().ToString("D"),
            StreamId = "order-removed", FailedAt = good.FailedAt.AddSeconds(-30) };
        await letters.AddAsync(unreadable);
        await letters.AddAsync(unknown);
        await letters.AddAsync(removed);
        poison.Heal(poisoned);
        foreach (var letter in new[] { unreadable, unknown, removed, good })
            Assert.True(await letters.RequestReplayAsync(letter.Id));

        await Eventually.HoldsAsync(() => Task.FromResult(poison.Consumed.ContainsKey(poisoned.ToString("D"))), "the replayable letter after the three that are not");
        await Eventually.HoldsAsync(async () => await letters.GetAsync(good.Id) is null, "the replayed letter to be removed");
        await Eventually.HoldsAsync(async () => (await letters.ListAsync()).All(l => l.State == DeadLetterState.Dead), "the three others to be Dead again");
        Assert.Equal([unreadable.Id, unknown.Id, removed.Id], (await letters.ListAsync()).Select(l => l.Id));
    }

    [SkippableFact]
    public async Task on_a_broker_a_letter_of_an_endpoint_another_runtime_hosts_is_left_for_that_runtime_to_replay()
    {
        await using var host = await StartAsync(Store.Sqlite, Transport.RabbitMq, immediate: 1, exponential: 0, TimeSpan.Zero);
        var (poison, letters, poisoned, good) = await DeadLetterOfOnePoisonedOrderAsync(host);
        var elsewhere = good with { Id = Guid.CreateVersion7(), Endpoint = "billing-invoice-projection", MessageId = Guid.NewGuid().ToString("D"),
            StreamId = "order-elsewhere", FailedAt = good.FailedAt.AddSeconds(-30) };
        await letters.AddAsync(elsewhere);
        poison.Heal(poisoned);
        Assert.Equal([elsewhere.Id, good.Id], await letters.RequestReplayAsync([elsewhere.Id, good.Id]));

        await Eventually.HoldsAsync(async () => await letters.GetAsync(good.Id) is null, "this runtime's letter to be replayed");
        await Task.Delay(host.Options.Retries.ReplayPollInterval * 4); // polls that must leave the other alone
        Assert.Equal(DeadLetterState.ReplayRequested, (await letters.GetAsync(elsewhere.Id))?.State);
    }

    [SkippableFact]
    public async Task a_discarded_dead_letter_is_kept_with_its_reason_and_never_replayed()
    {
        await using var host = await StartAsync(Store.Sqlite, Transport.InMemory, immediate: 1, exponential: 0, TimeSpan.Zero);
        var (poison, letters, poisoned, letter) = await DeadLetterOfOnePoisonedOrderAsync(host);
        Assert.Equal(2, letter.Attempts);
        Assert.True(await letters.DiscardAsync(letter.Id, "order withdrawn by support"));

        Assert.Empty(await letters.ListAsync());
        var kept = Assert.Single(await letters.ListAsync(includeDiscarded: true));
        Assert.Equal(DeadLetterState.Discarded, kept.State);
        Assert.Equal("order withdrawn by support", kept.DiscardReason);
        Assert.False(await letters.RequestReplayAsync(letter.Id));
        Assert.Equal(2, poison.AttemptsOf(poisoned));
    }
}

/// <summary>Counts how often each message is delivered, across every runtime instance of a test.</summary>
sealed class DeliveryCountingConsumer(ConcurrentDictionary<Guid, int> deliveries) : MassTransit.IConsumer<OrderPlaced>
{
    public Task Consume(MassTransit.ConsumeContext<OrderPlaced> context)
    {
        deliveries.AddOrUpdate(context.MessageId!.Value, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }
}
