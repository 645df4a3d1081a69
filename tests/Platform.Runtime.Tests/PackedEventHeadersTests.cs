using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Platform.Events;
using Platform.Persistence;
using Platform.Messaging;
using Platform.Runtime.Commands;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Kafka;
using Platform.Runtime.Messaging;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The packed form of a stored event's Kafka headers (<c>Transport:Kafka:PackEventHeaders</c>):
/// the same names and values as the separate headers, read in both forms, and a malformed one
/// dead-lettered instead of stopping its partition.
/// </summary>
public sealed class PackedEventHeadersTests
{
    static readonly EventEnvelope Envelope = new(Guid.NewGuid(), OrderPlaced.EventTypeName, OrderPlaced.SchemaVersion, "order-7; \"quoted\" ü", "Order", 3, 42,
        DateTimeOffset.UtcNow, new EventMetadata("corr-1", "cause-1", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        new OrderPlaced("customer-1", [new OrderItem("sku-1", 2, 9.5m)], 19m, "1 Main Street", "EUR", "STANDARD"));

    // A runtime on the mock cluster that packs its events' headers, with one event consumer.
    static Task<RuntimeHost> StartPackingAsync<TConsumer>(KafkaMockCluster cluster, Action<IServiceCollection> services)
        where TConsumer : class, MassTransit.IConsumer =>
        RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory, services, cfg =>
        {
            cfg.UseKafka(cluster.BootstrapServers);
            cfg.Transport.QueuePrefix = "kp-" + Guid.NewGuid().ToString("N")[..8];
            cfg.Transport.Kafka.CreateTopics = false;
            cfg.Transport.Kafka.GroupProtocol = GroupProtocol.Consumer;
            cfg.Transport.Kafka.PackEventHeaders = true;
            cfg.AddEventConsumer<TConsumer>();
        });

    [Fact]
    public void a_packed_header_holds_the_same_names_and_values_as_the_separate_headers_and_the_trace_context_stays_apart()
    {
        var separate = new List<KeyValuePair<string, string>>();
        RelayMessage.WriteHeaders(Envelope, OrderPlaced.SchemaVersion, null, separate, static (list, name, value) => list.Add(new(name, value)));
        var headers = new Headers();
        new PackedEventHeaders.Writer().Write(Envelope, OrderPlaced.SchemaVersion, null, headers);

        Assert.Equal([PackedEventHeaders.Name, MassTransitEventPublisher.TraceParentHeader], headers.Select(h => h.Key).Order(StringComparer.Ordinal));
        var unpacked = new List<KeyValuePair<string, string>>();
        Assert.True(PackedEventHeaders.TryUnpack(headers.GetLastBytes(PackedEventHeaders.Name), unpacked));
        unpacked.Add(new(MassTransitEventPublisher.TraceParentHeader, Encoding.UTF8.GetString(headers.GetLastBytes(MassTransitEventPublisher.TraceParentHeader))));
        Assert.Equal(separate.OrderBy(h => h.Key, StringComparer.Ordinal), unpacked.OrderBy(h => h.Key, StringComparer.Ordinal));
        Assert.Contains(new KeyValuePair<string, string>(PlatformHeaders.StreamId, "order-7; \"quoted\" ü"), unpacked);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"Platform-Event-Type\":1}")]
    [InlineData("{\"Platform-Event-Type\":\"OrderPlaced\"")]
    [InlineData("{\"Platform-Event-Type\":\"OrderPlaced\"} trailing")]
    [InlineData("not json")]
    public void a_packed_header_that_is_not_a_json_object_of_strings_is_refused_and_adds_nothing(string value)
    {
        var into = new List<KeyValuePair<string, string>> { new("kept", "1") };
        Assert.False(PackedEventHeaders.TryUnpack(Encoding.UTF8.GetBytes(value), into));
        Assert.Equal([new KeyValuePair<string, string>("kept", "1")], into);
    }

    [SkippableFact]
    public async Task a_consumer_reads_records_of_both_forms_on_one_topic_each_once_with_its_headers()
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        cluster.CreateTopic("events.order", partitions: 3, replicationFactor: 3);
        await using var host = await StartPackingAsync<OrderEventRecorder>(cluster, services => services.AddSingleton<ObservationSink>());
        await Orders.ExecuteAsync(host.EventStore, OrderEventRecorder.CreateTableSql);

        // Records an earlier version's relay wrote, one header per value, on the same topic.
        var earlierOptions = new Configuration.PlatformOptions().UseKafka(cluster.BootstrapServers);
        earlierOptions.Transport.Kafka.CreateTopics = false;
        earlierOptions.Transport.Kafka.PackEventHeaders = false;
        var earlier = Enumerable.Range(0, 20).Select(n => new EventEnvelope(Guid.NewGuid(), OrderPlaced.EventTypeName, OrderPlaced.SchemaVersion,
            "order-earlier-" + n, "Order", 1, 10_000 + n, DateTimeOffset.UtcNow, default, Envelope.Event)).ToArray();
        using (var publisher = new KafkaEventPublisher(new KafkaTopology(earlierOptions), host.Services.GetRequiredService<EventTypeRegistry>(), earlierOptions,
                   Microsoft.Extensions.Logging.Abstractions.NullLogger<KafkaEventPublisher>.Instance))
        {
            await publisher.PublishAsync(earlier, CancellationToken.None);
        }
        // And this version's own, packed.
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(n => dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), n))));
        var stored = (await Orders.ReadAllEventsAsync(host.EventStore)).Select(e => (e.EventId, e.StreamId, e.StreamVersion, e.GlobalPosition))
            .Concat(earlier.Select(e => (e.EventId, e.StreamId, e.StreamVersion, e.GlobalPosition))).ToList();

        var sink = host.Services.GetRequiredService<ObservationSink>();
        await Eventually.HoldsAsync(() => Task.FromResult(sink.HandledInOrder().Count >= 40), "the 40 events of both forms",
            state: () => Task.FromResult($"{sink.HandledInOrder().Count} handled."));
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // a duplicate would show by now
        Assert.Equal(stored.Order(), sink.HandledInOrder().Select(h => (h.EventId, h.StreamId, h.StreamVersion, h.GlobalPosition)).Order());
        Assert.True(sink.OrderViolations.IsEmpty, string.Join(Environment.NewLine, sink.OrderViolations));
    }

    [SkippableFact]
    public async Task a_record_whose_packed_header_is_malformed_is_dead_lettered_as_of_an_unknown_type_and_its_partition_goes_on()
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        cluster.CreateTopic("events.order", partitions: 1, replicationFactor: 3);
        var log = new CapturedLog();
        await using var host = await StartPackingAsync<NoticeRecorder>(cluster,
            services => services.AddSingleton<NoticeLog>().AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(log));
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            await producer.ProduceAsync("events.order", new Message<string, byte[]>
            {
                Key = "order-broken", Value = "{}"u8.ToArray(),
                Headers = new Headers { { PackedEventHeaders.Name, "{\"Platform-Event-Type\":"u8.ToArray() } },
            });
        }
        var order = Guid.NewGuid();
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(order, 1));

        // The placement after it, in the same partition, written packed by the relay, arrives.
        var placed = host.Services.GetRequiredService<NoticeLog>().Placed;
        await Eventually.HoldsAsync(() => Task.FromResult(placed.Contains(order.ToString("D"))), "the placement after the malformed record");
        Assert.DoesNotContain("order-broken", placed);

        // Its letter (the placement, of another key, may be consumed first): of no type, with the
        // record's payload and its header as they came.
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        await Eventually.HoldsAsync(() => Task.FromResult(log.Errors.Any(line => line.Contains("cannot read Kafka record events.order[0]@0", StringComparison.Ordinal)
            && line.Contains("its Platform-Event header is not a JSON object of strings", StringComparison.Ordinal))), "the malformed record's error (logged once its letter is stored)");
        var letter = Assert.Single(await letters.ListAsync());
        Assert.Equal(DeadLetter.UnknownMessageType, letter.MessageType);
        Assert.Equal(typeof(UnreadableRecordException).FullName, letter.ExceptionType);
        Assert.Contains("events.order[0]@0", letter.ExceptionMessage);
        Assert.Equal("{}", letter.Payload);
        var headers = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(letter.Headers)!;
        Assert.Equal("{\"Platform-Event-Type\":", headers[PackedEventHeaders.Name]);
        Assert.Null(letter.StreamId);
    }

    [SkippableFact]
    public async Task the_relay_packs_the_headers_by_default_and_writes_them_apart_when_the_option_is_off()
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        cluster.CreateTopic("events.order", partitions: 1, replicationFactor: 3);
        var registry = OrdersDomain.CreateEventTypeRegistry();

        async Task<string[]> HeaderNamesWrittenBy(Configuration.PlatformOptions options, Guid eventId)
        {
            options.Transport.Kafka.CreateTopics = false;
            using (var publisher = new KafkaEventPublisher(new KafkaTopology(options), registry, options,
                       Microsoft.Extensions.Logging.Abstractions.NullLogger<KafkaEventPublisher>.Instance))
            {
                await publisher.PublishAsync([new EventEnvelope(eventId, Envelope.TypeName, Envelope.SchemaVersion, Envelope.StreamId, Envelope.StreamType,
                    Envelope.StreamVersion, Envelope.GlobalPosition, Envelope.Timestamp, Envelope.Metadata, Envelope.Event)], CancellationToken.None);
            }
            using var reader = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
            {
                BootstrapServers = cluster.BootstrapServers, GroupId = "reader-" + eventId.ToString("N"), AutoOffsetReset = AutoOffsetReset.Earliest,
                IsolationLevel = IsolationLevel.ReadCommitted,
            }).Build();
            reader.Subscribe("events.order");
            var until = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < until)
            {
                if (reader.Consume(TimeSpan.FromSeconds(1)) is { Message: not null } record && record.Message.Key == Envelope.StreamId)
                {
                    var headers = new List<KeyValuePair<string, string>>();
                    if (record.Message.Headers.TryGetLastBytes(PackedEventHeaders.Name, out var packed))
                        Assert.True(PackedEventHeaders.TryUnpack(packed, headers));
                    else
                        headers.AddRange(record.Message.Headers.Select(h => new KeyValuePair<string, string>(h.Key, Encoding.UTF8.GetString(h.GetValueBytes()))));
                    if (headers.Any(h => h.Key == PlatformHeaders.EventId && h.Value == eventId.ToString("D")))
                        return record.Message.Headers.Select(h => h.Key).Order(StringComparer.Ordinal).ToArray();
                }
            }
            throw new TimeoutException($"event {eventId} was not read back");
        }

        var byDefault = new Configuration.PlatformOptions().UseKafka(cluster.BootstrapServers);
        Assert.Equal([PackedEventHeaders.Name, MassTransitEventPublisher.TraceParentHeader], await HeaderNamesWrittenBy(byDefault, Guid.NewGuid()));

        var apart = new Configuration.PlatformOptions().UseKafka(cluster.BootstrapServers);
        apart.Transport.Kafka.PackEventHeaders = false;
        var separate = new List<KeyValuePair<string, string>>();
        RelayMessage.WriteHeaders(Envelope, OrderPlaced.SchemaVersion, null, separate, static (list, name, value) => list.Add(new(name, value)));
        Assert.Equal(separate.Select(h => h.Key).Order(StringComparer.Ordinal), await HeaderNamesWrittenBy(apart, Guid.NewGuid()));
    }

    /// <summary>The error lines of the Kafka consumer service (KafkaUnreadableRecordTests reads them too).</summary>
    internal sealed class CapturedLog : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Errors { get; } = new();

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) =>
            categoryName == typeof(KafkaConsumerService).FullName ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Error)
                Errors.Enqueue(formatter(state, exception));
        }

        public void Dispose()
        {
        }
    }
}
