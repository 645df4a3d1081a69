using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Platform.Messaging;
using Platform.Runtime.Commands;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Kafka;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// A record an endpoint consumes by its headers but cannot read (a stored event's payload its
/// deserializer refuses, a message that is not its type in JSON) is a poison message: it is
/// dead-lettered with the error, as one its consumer failed on is, and its partition goes on, also
/// for later records of the same key, and its offset is committed.
/// </summary>
public sealed class KafkaUnreadableRecordTests
{
    // A runtime on the mock cluster whose NoticeRecorder consumes OrderPlaced and OrderNoticed.
    static Task<RuntimeHost> StartAsync(KafkaMockCluster cluster, string prefix, Action<IServiceCollection>? services = null,
        Action<Configuration.PlatformOptions>? configure = null) =>
        RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory,
            s =>
            {
                s.AddSingleton<NoticeLog>();
                services?.Invoke(s);
            },
            cfg =>
            {
                cfg.UseKafka(cluster.BootstrapServers);
                cfg.Transport.QueuePrefix = prefix;
                cfg.Transport.Kafka.CreateTopics = false;
                cfg.Transport.Kafka.GroupProtocol = GroupProtocol.Consumer;
                cfg.Transport.Kafka.CommitInterval = TimeSpan.FromMilliseconds(200);
                cfg.AddEventConsumer<NoticeRecorder>();
                configure?.Invoke(cfg);
            });

    // A mock cluster with the one-partition order topic every record here goes to, and the dead-letter
    // topic of the prefix when given (the runtime's CreateTopics is off: made before a reader subscribes).
    static KafkaMockCluster OrderCluster(string? deadLettersOf = null)
    {
        var cluster = new KafkaMockCluster(brokers: 3);
        cluster.CreateTopic("events.order", partitions: 1, replicationFactor: 3);
        if (deadLettersOf is not null)
            cluster.CreateTopic(deadLettersOf + ".dead-letters", partitions: 1);
        return cluster;
    }

    [SkippableFact]
    public async Task a_stored_event_whose_payload_cannot_be_read_is_dead_lettered_and_its_partition_and_key_go_on()
    {
        var prefix = "kur-" + Guid.NewGuid().ToString("N")[..8];
        using var cluster = OrderCluster(deadLettersOf: prefix);
        await using var host = await StartAsync(cluster, prefix);
        var order = Guid.NewGuid();
        var eventId = Guid.NewGuid();
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            // An OrderPlaced by its headers whose payload is not one: the aggregate's first record.
            await producer.ProduceAsync("events.order", new Message<string, byte[]>
            {
                Key = order.ToString("D"), Value = "{\"customerId\": [not json"u8.ToArray(),
                Headers = new Headers
                {
                    { PlatformHeaders.EventId, Encoding.UTF8.GetBytes(eventId.ToString("D")) },
                    { PlatformHeaders.EventType, Encoding.UTF8.GetBytes(OrderPlaced.EventTypeName) },
                    { PlatformHeaders.SchemaVersion, Encoding.UTF8.GetBytes(OrderPlaced.SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                    { PlatformHeaders.StreamId, Encoding.UTF8.GetBytes(order.ToString("D")) },
                    { PlatformHeaders.StreamVersion, "7"u8.ToArray() },
                },
            });
        }
        // The same aggregate's next record, written by the relay after it, in the same partition.
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(order, 1));

        var placed = host.Services.GetRequiredService<NoticeLog>().Placed;
        await Eventually.HoldsAsync(() => Task.FromResult(placed.Contains(order.ToString("D"))), "the aggregate's record after the unreadable one");
        Assert.Single(placed);

        var queue = host.Options.EventQueueName(typeof(NoticeRecorder));
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var letter = await DeadLetterTests.WaitForDeadLetterAsync(letters, order);
        Assert.Equal((queue, queue, eventId.ToString("D"), OrderPlaced.EventTypeName, 7L, 1), (letter.Consumer, letter.Endpoint, letter.MessageId, letter.EventType, letter.StreamVersion, letter.Attempts));
        Assert.Equal(typeof(OrderPlaced).AssemblyQualifiedName, letter.MessageType);
        Assert.Equal("{\"customerId\": [not json", letter.Payload);
        Assert.Contains("events.order[0]@0", letter.ExceptionMessage, StringComparison.Ordinal);
        Assert.Contains(PlatformHeaders.StreamVersion, letter.Headers, StringComparison.Ordinal);

        // Both offsets committed: a restarted member does not meet the unreadable record again.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await Eventually.HoldsAsync(async () =>
        {
            var committed = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(queue, [new TopicPartition("events.order", 0)])]);
            return committed.Single().Partitions.Single().Offset.Value == 2;
        }, "the offset after both records committed");

        // And copied to the dead-letter topic with the record's headers and the error.
        using var reader = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = "dlq-reader", AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        reader.Subscribe(prefix + ".dead-letters");
        var copy = reader.Consume(TimeSpan.FromSeconds(30));
        Assert.NotNull(copy);
        Assert.Equal(order.ToString("D"), copy.Message.Key);
        Assert.Equal(letter.Id.ToString("D"), Encoding.UTF8.GetString(copy.Message.Headers.GetLastBytes("Platform-Dead-Letter-Id")));
        Assert.Equal(OrderPlaced.EventTypeName, Encoding.UTF8.GetString(copy.Message.Headers.GetLastBytes(PlatformHeaders.EventType)));
        reader.Close();
    }

    [SkippableFact]
    public async Task a_stored_event_of_a_newer_schema_version_is_held_with_its_key_and_not_committed_while_other_keys_go_on()
    {
        // Written by a newer build: an instance of that build reads it once it owns the partition,
        // in order, so this one neither skips nor dead-letters it.
        using var cluster = OrderCluster();
        var log = new PackedEventHeadersTests.CapturedLog();
        // One handler slot: the held record must not keep it from the other keys.
        await using var host = await StartAsync(cluster, "kun-" + Guid.NewGuid().ToString("N")[..8],
            services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(log), cfg => cfg.Transport.PrefetchCount = 1);
        var held = Guid.NewGuid();
        var newer = OrderPlaced.SchemaVersion + 1;
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            await producer.ProduceAsync("events.order", new Message<string, byte[]>
            {
                Key = held.ToString("D"), Value = "{}"u8.ToArray(),
                Headers = new Headers
                {
                    { PlatformHeaders.EventType, Encoding.UTF8.GetBytes(OrderPlaced.EventTypeName) },
                    { PlatformHeaders.SchemaVersion, Encoding.UTF8.GetBytes(newer.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                    { PlatformHeaders.StreamId, Encoding.UTF8.GetBytes(held.ToString("D")) },
                },
            });
        }
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        await dispatcher.DispatchAsync(Orders.Place(held, 1)); // the same key, after it
        var other = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(other, 2)); // another key, after it in the same partition

        var placed = host.Services.GetRequiredService<NoticeLog>().Placed;
        await Eventually.HoldsAsync(() => Task.FromResult(placed.Contains(other.ToString("D"))), "the other key's record");
        await Task.Delay(TimeSpan.FromSeconds(1)); // commits every 200 ms
        Assert.DoesNotContain(held.ToString("D"), placed);
        Assert.Contains(log.Errors, line => line.Contains("holds Kafka record events.order[0]@0", StringComparison.Ordinal)
            && line.Contains($"schema version {newer} was written by a newer build (this one knows up to {OrderPlaced.SchemaVersion})", StringComparison.Ordinal));
        Assert.Empty(await host.Services.GetRequiredService<DeadLetterStore>().ListAsync());
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var queue = host.Options.EventQueueName(typeof(NoticeRecorder));
        var committed = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(queue, [new TopicPartition("events.order", 0)])]);
        Assert.True(committed.Single().Partitions.Single().Offset.Value <= 0, $"committed {committed.Single().Partitions.Single().Offset}");
    }

    [SkippableFact]
    public async Task a_record_with_a_header_without_a_value_is_consumed_and_its_partition_goes_on()
    {
        // Kafka allows a header with a null value (another producer's, a tracing tool's).
        using var cluster = OrderCluster();
        await using var host = await StartAsync(cluster, "knh-" + Guid.NewGuid().ToString("N")[..8]);
        var order = Guid.NewGuid();
        var registry = host.Services.GetRequiredService<Platform.Events.EventTypeRegistry>();
        var options = new Configuration.PlatformOptions().UseKafka(cluster.BootstrapServers);
        options.Transport.Kafka.CreateTopics = false;
        options.Transport.Kafka.PackEventHeaders = false;
        var envelope = new Platform.Events.EventEnvelope(Guid.NewGuid(), OrderPlaced.EventTypeName, OrderPlaced.SchemaVersion, order.ToString("D"), "Order", 1, 1,
            DateTimeOffset.UtcNow, default, new OrderPlaced("customer-1", [new OrderItem("sku-1", 1, 1m)], 1m, "1 Main Street", "EUR", "STANDARD"));
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            // The relay's own record, with a header of no value added.
            var headers = new Headers { { "x-no-value", null } };
            Platform.Runtime.Messaging.RelayMessage.WriteHeaders(envelope, OrderPlaced.SchemaVersion, null, headers,
                static (h, name, value) => h.Add(name, Encoding.UTF8.GetBytes(value)));
            var value = new System.Buffers.ArrayBufferWriter<byte>();
            registry.Get(typeof(OrderPlaced)).Serialize(envelope.Event, value);
            await producer.ProduceAsync("events.order", new Message<string, byte[]> { Key = order.ToString("D"), Value = value.WrittenSpan.ToArray(), Headers = headers });
        }
        var next = Guid.NewGuid();
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(next, 1));

        var placed = host.Services.GetRequiredService<NoticeLog>().Placed;
        await Eventually.HoldsAsync(() => Task.FromResult(placed.Contains(order.ToString("D")) && placed.Contains(next.ToString("D"))),
            "the record with the header of no value, and the next one");
        Assert.Empty(await host.Services.GetRequiredService<DeadLetterStore>().ListAsync());
    }

    [SkippableFact]
    public async Task an_event_larger_than_the_producer_allows_stops_the_relay_with_an_error_naming_it_until_the_limit_is_raised()
    {
        using var cluster = OrderCluster();
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "runtime");
        var prefix = "kbig-" + Guid.NewGuid().ToString("N")[..8];
        Task<RuntimeHost> StartOnDatabaseAsync(string? maxBytes) => RuntimeHost.StartOnAsync(database, Transport.InMemory,
            services: services => services.AddSingleton<NoticeLog>(),
            configure: cfg =>
            {
                cfg.UseKafka(cluster.BootstrapServers);
                cfg.Transport.QueuePrefix = prefix;
                cfg.Transport.Kafka.CreateTopics = false;
                cfg.Transport.Kafka.GroupProtocol = GroupProtocol.Consumer;
                cfg.AddEventConsumer<NoticeRecorder>();
                if (maxBytes is not null)
                    cfg.Transport.Kafka.Producer["message.max.bytes"] = maxBytes;
            });
        var big = Guid.NewGuid();
        var small = Guid.NewGuid();
        await using (var limited = await StartOnDatabaseAsync("4000"))
        {
            var items = Enumerable.Range(0, 120).Select(n => new OrderItem("sku-" + n, 1, 1m)).ToList();
            var dispatcher = limited.Services.GetRequiredService<ICommandDispatcher>();
            await dispatcher.DispatchAsync(Orders.Place(big, 1) with { Items = items });
            await dispatcher.DispatchAsync(Orders.Place(small, 2));
            var relay = limited.Services.GetRequiredService<Platform.EventStore.Outbox.OutboxRelay>();
            await Eventually.HoldsAsync(() => Task.FromResult(relay.LastError?.Message.Contains("message.max.bytes", StringComparison.Ordinal) == true),
                "the relay's error about the large event", state: () => Task.FromResult($"last error: {relay.LastError?.Message ?? "none"}"));
            Assert.Contains($"stream '{big:D}' at version 1", relay.LastError!.Message, StringComparison.Ordinal);
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Empty(limited.Services.GetRequiredService<NoticeLog>().Placed); // nothing after it either: the relay never skips
        }
        await using var raised = await StartOnDatabaseAsync(null);
        var placed = raised.Services.GetRequiredService<NoticeLog>().Placed;
        await Eventually.HoldsAsync(() => Task.FromResult(placed.Contains(big.ToString("D")) && placed.Contains(small.ToString("D"))),
            "both events once the limit is the default again");
    }

    [SkippableFact]
    public async Task a_message_that_is_not_its_type_in_json_is_dead_lettered_and_the_next_one_arrives()
    {
        var prefix = "kum-" + Guid.NewGuid().ToString("N")[..8];
        using var cluster = OrderCluster(deadLettersOf: prefix);
        var topic = "";
        await using var host = await StartAsync(cluster, prefix, configure: cfg =>
        {
            topic = new KafkaTopology(cfg).MessageTopicFor(typeof(OrderNoticed));
            cluster.CreateTopic(topic, partitions: 1, replicationFactor: 3);
        });
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            Headers HeadersOf(Guid id) => new()
            {
                { KafkaMessageHeaders.MessageType, Encoding.UTF8.GetBytes(KafkaTopology.MessageTypeName(typeof(OrderNoticed))) },
                { KafkaMessageHeaders.MessageId, Encoding.UTF8.GetBytes(id.ToString("D")) },
            };
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "k", Value = "[1, 2"u8.ToArray(), Headers = HeadersOf(Guid.NewGuid()) });
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "k", Value = "{\"streamId\":\"after\"}"u8.ToArray(), Headers = HeadersOf(Guid.NewGuid()) });
        }

        var noticed = host.Services.GetRequiredService<NoticeLog>().Noticed;
        await Eventually.HoldsAsync(() => Task.FromResult(noticed.Contains("after")), "the message after the unreadable one");
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        DeadLetter? letter = null;
        await Eventually.HoldsAsync(async () => (letter = (await letters.ListAsync()).SingleOrDefault()) is not null, "the unreadable message's dead letter");
        Assert.Equal((typeof(OrderNoticed).AssemblyQualifiedName, "[1, 2", (string?)null), (letter!.MessageType, letter.Payload, letter.EventType));
        Assert.Contains(topic + "[0]@0", letter.ExceptionMessage, StringComparison.Ordinal);
    }
}
