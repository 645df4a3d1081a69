using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Platform.Events;
using Platform.Persistence;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Kafka;
using Platform.Runtime.Messaging;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// How much a Kafka consumer takes from the client ahead of its endpoint: at most
/// <c>MaxBuffered</c> records across its partitions while they move, the rest left in librdkafka's
/// fetch buffer; a partition stuck behind one record does not hold up the others.
/// </summary>
public sealed class KafkaBufferingTests
{
    static Task<RuntimeHost> StartAsync(KafkaMockCluster cluster, PlacementGate gate, Action<PlatformKafkaOptions> kafka, int partitions)
    {
        cluster.CreateTopic("events.order", partitions, replicationFactor: 3);
        return RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory, services => services.AddSingleton(gate), cfg =>
        {
            cfg.UseKafka(cluster.BootstrapServers);
            cfg.Transport.QueuePrefix = "kb-" + Guid.NewGuid().ToString("N")[..8];
            cfg.Transport.Kafka.CreateTopics = false;
            cfg.Transport.Kafka.GroupProtocol = GroupProtocol.Consumer;
            cfg.Transport.PrefetchCount = 8;
            cfg.Projections.Enabled = false;
            cfg.AddEventConsumer<GatedPlacementConsumer>();
            kafka(cfg.Transport.Kafka);
        });
    }

    static Task PlaceAsync(RuntimeHost host, IReadOnlyList<Guid> orders)
    {
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        return Task.WhenAll(orders.Select((order, n) => dispatcher.DispatchAsync(Orders.Place(order, n))));
    }

    [SkippableTheory]
    [InlineData(40, 40)]
    [InlineData(2, 8)] // never fewer than the 8 handled at once (PrefetchCount)
    public Task a_busy_endpoint_takes_no_more_than_MaxBuffered_records_from_the_client_and_every_record_arrives_once(int maxBuffered, int held) =>
        WhileTheHandlersAreBusyAsync(kafka => kafka.MaxBuffered = maxBuffered, async group =>
        {
            await Eventually.HoldsAsync(() => Task.FromResult(KafkaConsumerService.PeakHeld.GetValueOrDefault(group) >= held),
                "the consumer to fill its buffer", state: () => Task.FromResult($"It holds {KafkaConsumerService.PeakHeld.GetValueOrDefault(group)}."));
            await Task.Delay(TimeSpan.FromSeconds(1)); // room for it to read on, were it going to
            Assert.Equal(held, KafkaConsumerService.PeakHeld[group]);
        });

    [SkippableFact]
    public Task a_busy_endpoint_takes_no_more_than_MaxBufferedBytes_of_records_and_every_record_arrives_once() =>
        // Each placement's record is some 640 bytes with its headers: 12,000 bytes are about 19
        // records, far below MaxBuffered (512) and the 300 records waiting (191,530 bytes unbounded).
        WhileTheHandlersAreBusyAsync(kafka => kafka.MaxBufferedBytes = 12_000, async group =>
        {
            await Eventually.HoldsAsync(() => Task.FromResult(KafkaConsumerService.PeakHeldBytes.GetValueOrDefault(group) >= 12_000),
                "the consumer to fill its buffer", state: () => Task.FromResult($"It holds {KafkaConsumerService.PeakHeldBytes.GetValueOrDefault(group)} bytes."));
            await Task.Delay(TimeSpan.FromSeconds(1)); // room for it to read on, were it going to
            var held = KafkaConsumerService.PeakHeld[group];
            var bytes = KafkaConsumerService.PeakHeldBytes[group];
            Assert.True(bytes is >= 12_000 and < 12_000 + 2_000, $"held {bytes} bytes in {held} records");
            Assert.InRange(held, 8, 40);
        });

    // 300 placements while every handler is held at the gate: check what the consumer holds, then
    // open the gate and see every placement handled once.
    static async Task WhileTheHandlersAreBusyAsync(Action<PlatformKafkaOptions> bound, Func<string, Task> check)
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        var gate = new PlacementGate();
        await using var host = await StartAsync(cluster, gate, kafka =>
        {
            bound(kafka);
            kafka.StalledAfter = TimeSpan.FromMinutes(10); // no partition counts as stuck here
        }, partitions: 6);
        var orders = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid()).ToArray();
        gate.Close();
        try
        {
            await PlaceAsync(host, orders);
            await Eventually.HoldsAsync(() => Task.FromResult(gate.Waiting == 8), "the endpoint's 8 handlers (PrefetchCount) to be busy");
            await check(host.Options.EventQueueName(typeof(GatedPlacementConsumer)));
        }
        finally
        {
            gate.Open();
        }
        await Eventually.HoldsAsync(() => Task.FromResult(gate.Handled.Count == orders.Length), "every placement to be handled", TimeSpan.FromSeconds(60),
            () => Task.FromResult($"{gate.Handled.Count} of {orders.Length} handled."));
        Assert.All(orders, order => Assert.Equal(1, gate.Handled[order.ToString("D")]));
    }

    [SkippableFact]
    public async Task a_partition_stuck_behind_one_record_does_not_stop_the_others_from_being_read()
    {
        // 20 records at most; the stuck order's partition soon holds more than that behind it (the
        // others' records after it finish, but its offset cannot move past the stuck one).
        using var cluster = new KafkaMockCluster(brokers: 3);
        var gate = new PlacementGate();
        await using var host = await StartAsync(cluster, gate, kafka =>
        {
            kafka.MaxBuffered = 20;
            kafka.StalledAfter = TimeSpan.FromMilliseconds(300);
        }, partitions: 3);
        var stuck = Guid.NewGuid();
        var others = Enumerable.Range(0, 150).Select(_ => Guid.NewGuid()).ToArray();

        await TheOthersGoOnWhileOneIsStuckAsync(gate, stuck, others, stuckRecords: 1, async () =>
        {
            await PlaceAsync(host, [stuck]);
            await Eventually.HoldsAsync(() => Task.FromResult(gate.Waiting == 1), "the stuck order's placement to be handled");
            await PlaceAsync(host, others);
        });
    }

    [SkippableFact]
    public async Task records_waiting_behind_a_stuck_aggregate_take_none_of_the_handlers_the_others_need()
    {
        // 8 handlers (PrefetchCount); the stuck order has 20 records, 19 of them waiting behind
        // the first. Holding a handler each while they wait, they took all 8 and nothing else ran.
        using var cluster = new KafkaMockCluster(brokers: 3);
        var gate = new PlacementGate();
        await using var host = await StartAsync(cluster, gate, _ => { }, partitions: 3);
        var stuck = Guid.NewGuid();
        var others = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToArray();
        var placed = new OrderPlaced("customer-1", [new OrderItem("sku-1", 2, 9.5m)], 19m, "1 Main Street", "EUR", "STANDARD");
        EventEnvelope Placement(Guid order, int version) => new(Guid.CreateVersion7(), OrderPlaced.EventTypeName, OrderPlaced.SchemaVersion,
            order.ToString("D"), "Order", version, version, DateTimeOffset.UtcNow, default, placed);

        await TheOthersGoOnWhileOneIsStuckAsync(gate, stuck, others, stuckRecords: 20, () => host.Services.GetRequiredService<IEventPublisher>().PublishAsync(
            [.. Enumerable.Range(1, 20).Select(version => Placement(stuck, version)), .. others.Select(order => Placement(order, 1))], CancellationToken.None));
    }

    // With the stuck order's records held at the gate, every other order's is handled, once; the
    // stuck order's, released, are handled after.
    static async Task TheOthersGoOnWhileOneIsStuckAsync(PlacementGate gate, Guid stuck, IReadOnlyList<Guid> others, int stuckRecords, Func<Task> send)
    {
        gate.Block(stuck);
        try
        {
            await send();
            await Eventually.HoldsAsync(() => Task.FromResult(others.All(o => gate.Handled.ContainsKey(o.ToString("D")))),
                "every other order's records to be handled while one order is stuck", TimeSpan.FromSeconds(60),
                () => Task.FromResult($"{gate.Handled.Count} of {others.Count} handled."));
            Assert.False(gate.Handled.ContainsKey(stuck.ToString("D")));
        }
        finally
        {
            gate.Release(stuck);
        }
        await Eventually.HoldsAsync(() => Task.FromResult(gate.Handled.GetValueOrDefault(stuck.ToString("D")) == stuckRecords),
            $"the stuck order's {stuckRecords} record(s), released, to be handled");
        Assert.All(others, order => Assert.Equal(1, gate.Handled[order.ToString("D")]));
    }
}

/// <summary>Holds placements back: all of them while closed, or one order's.</summary>
sealed class PlacementGate
{
    readonly ConcurrentDictionary<string, TaskCompletionSource> _blocked = new();
    TaskCompletionSource? _all;
    int _waiting;

    public ConcurrentDictionary<string, int> Handled { get; } = new();

    /// <summary>Handlers inside the gate now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public void Close() => Volatile.Write(ref _all, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Open() => Volatile.Read(ref _all)?.TrySetResult();

    public void Block(Guid order) => _blocked[order.ToString("D")] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release(Guid order) => _blocked[order.ToString("D")].TrySetResult();

    public async Task PassAsync(string streamId)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            if (Volatile.Read(ref _all) is { } all)
                await all.Task;
            if (_blocked.TryGetValue(streamId, out var one))
                await one.Task;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        Handled.AddOrUpdate(streamId, 1, (_, count) => count + 1);
    }
}

/// <summary>Counts each order's placement once it passes the gate.</summary>
sealed class GatedPlacementConsumer(PlacementGate gate) : MassTransit.IConsumer<OrderPlaced>
{
    public Task Consume(MassTransit.ConsumeContext<OrderPlaced> context) => gate.PassAsync(EventHeaders.From(context).StreamId);
}
