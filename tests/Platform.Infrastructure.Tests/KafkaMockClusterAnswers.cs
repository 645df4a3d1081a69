using System.Collections.Concurrent;
using Confluent.Kafka;
using Platform.Testing;
using Xunit;

namespace Platform.Infrastructure.Tests;

/// <summary>
/// The Kafka test cluster (librdkafka's mock, 3 brokers) speaks enough of the protocol for the
/// Kafka transport's tests: keyed partitioning, an idempotent and transactional producer,
/// read-committed consumers in one group sharing the partitions, and committed offsets.
/// </summary>
public sealed class KafkaMockClusterAnswers
{
    [Fact]
    public async Task keyed_transactional_messages_reach_a_consumer_group_in_key_order_and_offsets_commit()
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        const string topic = "events.order";
        cluster.CreateTopic(topic, partitions: 6, replicationFactor: 3);

        // Two consumers in one group (next-generation protocol) share the six partitions.
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<int>>();
        var byConsumer = new int[2];
        var assigned = new int[2];
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var consumers = Enumerable.Range(0, 2).Select(n => Task.Run(() =>
        {
            // Offsets are stored per message and committed in the background and on Close, as the
            // runtime does: a synchronous commit per message has no bound of its own.
            var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
            {
                BootstrapServers = cluster.BootstrapServers,
                GroupId = "projection-order-summary",
                GroupProtocol = GroupProtocol.Consumer,
                IsolationLevel = IsolationLevel.ReadCommitted,
                AutoOffsetReset = AutoOffsetReset.Earliest,
                EnableAutoCommit = true,
                EnableAutoOffsetStore = false,
                AutoCommitIntervalMs = 100,
            }).Build();
            consumer.Subscribe(topic);
            while (!stop.IsCancellationRequested && Volatile.Read(ref assigned[n]) == 0)
            {
                consumer.Consume(TimeSpan.FromMilliseconds(50));
                if (consumer.Assignment.Count > 0)
                    Volatile.Write(ref assigned[n], consumer.Assignment.Count);
            }
            while (!stop.IsCancellationRequested && seen.Values.Sum(q => q.Count) < 500)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result is null)
                    continue;
                seen.GetOrAdd(result.Message.Key, _ => new ConcurrentQueue<int>()).Enqueue(int.Parse(result.Message.Value, System.Globalization.CultureInfo.InvariantCulture));
                Interlocked.Increment(ref byConsumer[n]);
                consumer.StoreOffset(result);
            }
            CloseWithin(consumer, TimeSpan.FromSeconds(20));
        })).ToArray();
        // Produce only once both members hold partitions, so that both consume.
        while (assigned.Any(a => a == 0) && !stop.IsCancellationRequested)
            await Task.Delay(20);

        // An idempotent, transactional producer: one aborted transaction, one committed.
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig
               {
                   BootstrapServers = cluster.BootstrapServers,
                   EnableIdempotence = true,
                   TransactionalId = "relay-1",
               }).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            producer.BeginTransaction();
            producer.Produce(topic, new Message<string, string> { Key = "aborted", Value = "never seen" });
            producer.AbortTransaction(TimeSpan.FromSeconds(30));
            producer.BeginTransaction();
            for (var version = 1; version <= 20; version++)
            {
                for (var order = 0; order < 25; order++)
                    producer.Produce(topic, new Message<string, string> { Key = "order-" + order, Value = version.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
            producer.CommitTransaction(TimeSpan.FromSeconds(30));
        }

        // Bounded: a client stuck in librdkafka fails the test instead of hanging the test run.
        await Task.WhenAll(consumers).WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(500, seen.Values.Sum(q => q.Count));
        Assert.False(seen.ContainsKey("aborted"), "a read-committed consumer saw an aborted message");
        Assert.All(seen.Values, versions => Assert.Equal(Enumerable.Range(1, 20), versions));
        Assert.True(byConsumer.All(count => count > 0), $"both group members consumed: {byConsumer[0]} and {byConsumer[1]}");

        // The group's committed offsets add up to every message but the aborted one and the two
        // transaction markers, which take an offset each in their partitions.
        using var admin = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "projection-order-summary",
            GroupProtocol = GroupProtocol.Consumer,
        }).Build();
        var committed = admin.Committed(Enumerable.Range(0, 6).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        Assert.InRange(committed.Sum(c => c.Offset.Value), 500, 503);
    }

    // Close commits the stored offsets and leaves the group. It can block in librdkafka with no
    // bound of its own (a hung run of this test was killed after 10 minutes), and disposing a
    // consumer whose Close still runs can crash the process: so a Close that does not finish in
    // time fails the test and the consumer is left undisposed, as the runtime does.
    static void CloseWithin(IConsumer<string, string> consumer, TimeSpan limit)
    {
        var closing = Task.Run(consumer.Close);
        if (!closing.Wait(limit))
            throw new TimeoutException($"the consumer did not close within {limit.TotalSeconds:N0} s");
        consumer.Dispose();
    }
}
