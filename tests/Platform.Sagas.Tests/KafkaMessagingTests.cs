using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Kafka;
using Shop.Payments;
using Xunit;
using Xunit.Abstractions;

namespace Platform.Sagas.Tests;

/// <summary>
/// Issue 8: on Kafka, saga commands, timeouts and the services' replies travel on Kafka topics as
/// the events do, so a saga in one runtime reaches services hosted only in another.
/// </summary>
public sealed class KafkaMessagingTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task a_saga_in_one_host_and_its_services_in_another_complete_every_order_with_each_command_seen_once()
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        await using var database = await TestDatabase.CreateAsync(Store.Postgres, "sagas");
        var prefix = "sg-" + Guid.NewGuid().ToString("N")[..12];
        await using var sagas = await SagaHost.StartAsync(database, Transport.Kafka, prefix: prefix, cluster: cluster, services: false);
        await using var services = await SagaHost.StartAsync(database, Transport.Kafka, configure: cfg => cfg.Sagas.Enabled = false,
            prefix: prefix, cluster: cluster);
        const int orderCount = 50;
        var orders = Enumerable.Range(0, orderCount).Select(_ => Guid.NewGuid()).ToArray();
        var started = DateTime.UtcNow;

        await Task.WhenAll(orders.Select((order, n) => sagas.PlaceAsync(order, n)));
        await Eventually.HoldsAsync(async () => (await sagas.Operations.CountByStateAsync()).GetValueOrDefault("Completed") == orderCount,
            "every saga to complete", TimeSpan.FromSeconds(120),
            async () => string.Join(", ", (await sagas.Operations.CountByStateAsync()).Select(c => c.Key + "=" + c.Value)));
        var events = sagas.Services.GetRequiredService<SqlEventStore>();
        foreach (var order in orders) // the reaction's ShipOrder, sent to the command topic, reached an instance of the Orders domain
            await Eventually.HoldsAsync(async () => await events.GetStreamVersionAsync(order.ToString("D")) == 3, "order " + order + " to be shipped");
        output.WriteLine($"{orderCount} sagas across two hosts in {(DateTime.UtcNow - started).TotalSeconds:F1} s");

        Assert.Equal(0, sagas.Ledger.CommandsReceived); // the saga's host runs no service
        Assert.Equal(orderCount * 3, services.Ledger.CommandsReceived);
        Assert.Equal(0, services.Ledger.DuplicateCommands);
        Assert.All(orders, order => Assert.Equal((1, 1, 1),
            (services.Ledger.Charges[order], services.Ledger.Reservations[order], services.Ledger.Shipments[order])));

        // The commands and replies really crossed Kafka.
        var topology = sagas.Services.GetRequiredService<KafkaTopology>();
        using var reader = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "watermarks" }).Build();
        long Records(string topic) => Enumerable.Range(0, 4).Sum(p => reader.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
        Assert.Equal(orderCount, Records(topology.CommandTopicFor(sagas.Options.EventQueueName(typeof(PaymentService)))));
        Assert.Equal(orderCount * 2, Records(topology.CommandTopicFor(sagas.Options.EventQueueName(typeof(InventoryService)))));
        Assert.Equal(orderCount, Records(topology.CommandTopicFor(sagas.Options.CommandQueueName)));
        Assert.Equal(orderCount, Records(topology.MessageTopicFor(typeof(PaymentCharged))));
    }

    [SkippableFact]
    public async Task replies_published_twice_over_kafka_are_skipped_by_the_saga_inbox()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Postgres, "sagas");
        var ledger = new ServiceLedger { ReplyTwice = true };
        await using var host = await SagaHost.StartAsync(database, Transport.Kafka, ledger, SagaHost.LongTimeouts);
        using var counters = new SagaCounters();
        var orders = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray();

        await Task.WhenAll(orders.Select((order, n) => host.PlaceAsync(order, n)));
        await Eventually.HoldsAsync(async () => (await host.Operations.CountByStateAsync()).GetValueOrDefault("Completed") == orders.Length,
            "every saga to complete", TimeSpan.FromSeconds(120),
            async () => string.Join(", ", (await host.Operations.CountByStateAsync()).Select(c => c.Key + "=" + c.Value)));

        foreach (var order in orders)
        {
            var saga = (await host.Operations.GetAsync(order)).Single();
            // Each reply once in the history: the second copy kept its message id across Kafka.
            Assert.Equal(["OrderPlaced", "PaymentCharged", "InventoryReserved", "ShipmentArranged"], saga.History.Select(h => h.MessageType));
        }
        // A saga completes on the first copy of its last reply; the second copy may still be on its way.
        await Eventually.HoldsAsync(() => Task.FromResult(counters["platform.sagas.duplicates_skipped"] >= orders.Length * 3),
            "the inbox to skip the second copy of every reply", TimeSpan.FromSeconds(60),
            () => Task.FromResult($"{counters["platform.sagas.duplicates_skipped"]} of {orders.Length * 3} skipped."));
        Assert.DoesNotContain(host.Logs.Entries, e => e.Contains("does not handle it", StringComparison.Ordinal));
    }
}
