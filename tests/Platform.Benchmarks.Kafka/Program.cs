using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Testing;
using Shop.Orders;

// Events/s through the platform's Kafka path against a bare Confluent.Kafka loop doing the same
// work (serialize with the generated serializer, produce keyed to a 6-partition topic, consume in
// a group, deserialize), on librdkafka's mock cluster (3 brokers). Issue 8's goal: at least 0.7x.
//
//   dotnet run -c Release --project tests/Platform.Benchmarks.Kafka [-- --quick]
var quick = args.Contains("--quick");
var count = quick ? 5_000 : 40_000;
var rounds = quick ? 1 : 3;
const int partitions = 6;
var registry = OrdersDomain.CreateEventTypeRegistry();
var descriptor = registry.Get(typeof(OrderPlaced));
var placed = new OrderPlaced("customer-1", [new OrderItem("sku-1", 2, 9.5m), new OrderItem("sku-x", 1, 1.25m)], 20.25m, "1 Main Street", "EUR", "STANDARD");
// One event per stream, 2,000 streams: keyed like the relay keys them.
var envelopes = Enumerable.Range(0, count).Select(n => new EventEnvelope(Guid.CreateVersion7(), OrderPlaced.EventTypeName, OrderPlaced.SchemaVersion,
    "order-" + (n % 2_000).ToString(CultureInfo.InvariantCulture), "Order", 1 + n / 2_000, n + 1, DateTimeOffset.UtcNow, default, placed)).ToArray();

using var cluster = new KafkaMockCluster(brokers: 3);
Console.WriteLine($"Kafka path vs bare Confluent.Kafka loop: {count:N0} events, {partitions} partitions, mock cluster of 3 brokers, {Environment.ProcessorCount} cores");

var results = new Dictionary<string, List<double>> { ["platform"] = [], ["bare"] = [] };
await PlatformAsync(0, Math.Min(2_000, count)); // warm-up: JIT, the mock's first topic
await BareAsync(0, Math.Min(2_000, count));
for (var round = 1; round <= rounds; round++)
{
    results["platform"].Add(await PlatformAsync(round, count));
    results["bare"].Add(await BareAsync(round, count));
}
double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
foreach (var (name, values) in results)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-9} {Median(values),10:N0} events/s (runs: {string.Join(", ", values.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))})"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"platform / bare: {Median(results["platform"]) / Median(results["bare"]):0.00}x (goal >= 0.7x)"));

string Topic(string contender, int round)
{
    var topic = $"{contender}{round}.events.order";
    cluster.CreateTopic(topic, partitions, replicationFactor: 3);
    return topic;
}

async Task<double> PlatformAsync(int round, int n)
{
    Topic("platform", round);
    var database = Path.Combine(Path.GetTempPath(), $"kafka-bench-{Guid.NewGuid():N}.db");
    var counter = new Counter(n);
    using var host = new HostBuilder()
        .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
        .ConfigureServices(services =>
        {
            services.AddSingleton(counter);
            services.AddPlatform(cfg =>
            {
                cfg.UseSqlite($"Data Source={database}");
                cfg.UseKafka(cluster.BootstrapServers);
                cfg.Transport.QueuePrefix = $"bench{round}";
                cfg.Transport.Kafka.TopicFormat = $"platform{round}.events.{{aggregate}}";
                cfg.Transport.Kafka.CreateTopics = false;
                cfg.Transport.Kafka.GroupProtocol = GroupProtocol.Consumer;
                cfg.Transport.PrefetchCount = 64;
                cfg.Relay.Enabled = false;        // the envelopes are handed to the relay's publisher directly
                cfg.Projections.Enabled = false;
                cfg.Sagas.Enabled = false;
                cfg.AddDomain(typeof(OrdersDomain));
                cfg.AddEventConsumer<CountingConsumer>();
            });
        }).Build();
    await host.StartAsync();
    await Task.Delay(TimeSpan.FromSeconds(3)); // both contenders' consumers join their group before the clock starts
    var publisher = host.Services.GetRequiredService<IEventPublisher>();
    var clock = Stopwatch.StartNew();
    foreach (var batch in envelopes.Take(n).Chunk(500))
        await publisher.PublishAsync(batch, CancellationToken.None);
    var published = clock.Elapsed;
    await counter.Done.WaitAsync(TimeSpan.FromMinutes(5));
    if (args.Contains("--verbose"))
        Console.WriteLine($"  platform round {round}: published in {published.TotalMilliseconds:N0} ms, consumed by {clock.Elapsed.TotalMilliseconds:N0} ms");
    var rate = n / clock.Elapsed.TotalSeconds;
    await host.StopAsync();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    File.Delete(database);
    return rate;
}

async Task<double> BareAsync(int round, int n)
{
    var topic = Topic("bare", round);
    var seen = 0;
    var done = new TaskCompletionSource();
    using var stop = new CancellationTokenSource();
    var consumers = Enumerable.Range(0, 1).Select(member => Task.Factory.StartNew(() =>
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = $"bare{round}", GroupProtocol = GroupProtocol.Consumer,
            AutoOffsetReset = AutoOffsetReset.Earliest, IsolationLevel = IsolationLevel.ReadCommitted, EnableAutoCommit = true,
        }).Build();
        consumer.Subscribe(topic);
        while (!stop.IsCancellationRequested)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(50));
            if (record?.Message is null)
                continue;
            _ = descriptor.Deserialize(record.Message.Value, descriptor.SchemaVersion);
            if (Interlocked.Increment(ref seen) == n)
                done.TrySetResult();
        }
        consumer.Close();
    }, TaskCreationOptions.LongRunning)).ToArray();
    await Task.Delay(TimeSpan.FromSeconds(3));
    using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 5,
    }).Build();
    var clock = Stopwatch.StartNew();
    foreach (var envelope in envelopes.Take(n))
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        descriptor.Serialize(envelope.Event, buffer);
        producer.Produce(topic, new Message<string, byte[]> { Key = envelope.StreamId, Value = buffer.WrittenSpan.ToArray() });
    }
    producer.Flush();
    await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
    var rate = n / clock.Elapsed.TotalSeconds;
    await stop.CancelAsync();
    await Task.WhenAll(consumers);
    return rate;
}

sealed class Counter(int expected)
{
    int _seen;
    readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Done => _done.Task;

    public void Seen()
    {
        if (Interlocked.Increment(ref _seen) == expected)
            _done.TrySetResult();
    }
}

sealed class CountingConsumer(Counter counter) : IConsumer<OrderPlaced>
{
    public Task Consume(ConsumeContext<OrderPlaced> context)
    {
        counter.Seen();
        return Task.CompletedTask;
    }
}
