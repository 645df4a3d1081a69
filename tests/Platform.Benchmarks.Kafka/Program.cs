using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.Messaging;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Benchmarks.Runtime;
using Platform.Testing;
using Shop.Orders;

// Events/s through the platform's Kafka path against a bare Confluent.Kafka loop doing the same
// work (serialize with the generated serializer, produce keyed to a 12-partition topic, consume in
// a group, deserialize), on librdkafka's mock cluster (3 brokers). Issue 8's goal: at least 0.7x.
//
// Both contenders run as a service does: one runtime host and one bare consumer for the whole run,
// each on its own topic, warmed up until a round compiles next to no new methods; each measured
// round then produces a fresh batch of events and waits until all of them were consumed. The
// platform's producer is the outbox relay's (a Kafka transaction per relay batch, 5,000 events on
// Kafka); the bare producer is a plain idempotent producer, and "bare-tx" is the bare loop writing
// the same transactions, to show what the transactions themselves cost. "bare-hdr", run only when
// named in --only, is the bare loop writing the platform's headers too (the relay's seven for these
// events), to show what the wire format itself costs. Run it with PLATFORM_BENCH_EVENTS=40000: with
// 100,000-event rounds its consumer lost records to the mock's bounded log and a round never ended.
// "bare-1hdr", run only when named, writes the same values packed into one header, to show what
// the number of headers costs, as the platform does by default (Transport:Kafka:PackEventHeaders);
// "platform-hdr", run only when named, is the platform with that option off, writing the seven
// headers apart (--publish-only --only platform-hdr: its publisher alone). "bare-mt" is the bare loop handing each record to a plain MassTransit mediator (resolved from DI,
// a consumer that only counts, no filter of the platform's): the floor of any path that runs the
// generated code in MassTransit's pipeline, as issue 8 asks. "bare-mt-hdr", run only when named, is
// both: the relay's headers written, read back and set on the mediator's send, as the platform's
// hand-over does (PLATFORM_BENCH_EVENTS=40000, as for bare-hdr). "bare-floor", run only when named,
// is the bare loop doing what issue 8 asks of any implementation: the relay's transactions, the
// platform's header (packed, as by default) written and read back, and a mediator send per record
// with it set (its values joined by ';', cheaper to write and read than the platform's JSON object,
// and set as one header where the platform sets seven): what the platform's path costs beyond it is
// the platform's own.
//
// Every contender's consumer asks the mock for fetches held at most 10 ms (see FetchWait): the
// mock holds an empty fetch for its whole wait where a broker answers once records arrive.
//
// --publish-only runs the platform's publisher alone (no consumer; a round ends when its last
// transaction committed), to show what producing costs by itself.
//
//   dotnet run -c Release --project tests/Platform.Benchmarks.Kafka [-- --quick] [--verbose] [--only platform,bare,bare-hdr,bare-1hdr,platform-hdr] [--publish-only]
var quick = args.Contains("--quick");
var verbose = args.Contains("--verbose");
var publishOnly = args.Contains("--publish-only");
// PLATFORM_BENCH_ROUNDS: measured rounds (5; more to profile one contender with perf).
// PLATFORM_BENCH_EVENTS: events per round. The mock cluster keeps a bounded log per partition: a
// consumer that falls further behind loses records to its retention and the round never ends.
var count = Environment.GetEnvironmentVariable("PLATFORM_BENCH_EVENTS") is { } events ? int.Parse(events, CultureInfo.InvariantCulture) : quick ? 5_000 : 100_000;
var rounds = quick ? 1 : int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_BENCH_ROUNDS"), out var r) ? r : 5;
var placed = new OrderPlaced("customer-1", [new OrderItem("sku-1", 2, 9.5m), new OrderItem("sku-x", 1, 1.25m)], 20.25m, "1 Main Street", "EUR", "STANDARD");
// One event per stream per 2,000: keyed like the relay keys them.
var envelopes = Enumerable.Range(0, count).Select(n => new EventEnvelope(Guid.CreateVersion7(), OrderPlaced.EventTypeName, OrderPlaced.SchemaVersion,
    "order-" + (n % 2_000).ToString(CultureInfo.InvariantCulture), "Order", 1 + n / 2_000, n + 1, DateTimeOffset.UtcNow, default, placed)).ToArray();

using var cluster = new KafkaMockCluster(brokers: 3);
Console.WriteLine($"Kafka path vs bare Confluent.Kafka loop: {count:N0} events per round, {Partitions.Count} partitions, mock cluster of 3 brokers, {Environment.ProcessorCount} cores");

var database = Path.Combine(Path.GetTempPath(), $"kafka-bench-{Guid.NewGuid():N}.db");
Contender[] all = [new PlatformContender(cluster, database, consume: !publishOnly), new PlatformContender(cluster, database + "-hdr", consume: !publishOnly, packed: false),
    new BareContender(cluster, transactional: false),
    new BareContender(cluster, transactional: true), new BareContender(cluster, transactional: false, headers: true),
    new BareContender(cluster, transactional: false, mediator: true), new BareContender(cluster, transactional: false, headers: true, mediator: true),
    new BareContender(cluster, transactional: false, headers: true, packed: true),
    new BareContender(cluster, transactional: true, headers: true, mediator: true, packed: true)];
// --only a,b: just those contenders (e.g. to profile one); the ratios then need both of theirs.
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault()?.Split(',');
var contenders = all.Where(c => publishOnly ? c.Name == (only?.FirstOrDefault() ?? "platform") : only?.Contains(c.Name) ?? c.Name is not ("bare-hdr" or "bare-mt-hdr" or "bare-1hdr" or "platform-hdr" or "bare-floor")).ToArray();
foreach (var contender in contenders)
    await contender.StartAsync();
await Task.Delay(TimeSpan.FromSeconds(3)); // every consumer joined its group before the first round

// Warm-up: until a round of every contender compiles fewer than 50 new methods (at most 8 rounds),
// then one full-size round each: the first round of the full size ran at half speed for every
// contender after 10,000-event warm-ups (why, not found: the mock's logs and the clients' buffers
// growing to that size are the likely cause).
for (var warmup = 1; warmup <= 8; warmup++)
{
    var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
    foreach (var contender in contenders)
        await contender.RoundAsync(envelopes.AsMemory(0, Math.Min(count, 10_000)));
    compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiled;
    if (verbose)
        Console.WriteLine($"  warm-up {warmup}: {compiled} methods compiled");
    if (compiled < 50)
        break;
}
foreach (var contender in contenders)
    await contender.RoundAsync(envelopes);

using var allocations = AllocationSampler.StartIfAsked();
allocations?.Report(1, 0); // forget the warm-up's
var results = contenders.ToDictionary(c => c.Name, _ => new List<double>());
for (var round = 1; round <= rounds; round++)
{
    foreach (var contender in contenders)
    {
        var jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var collectionsBefore = GC.CollectionCount(0);
        var gen1Before = GC.CollectionCount(1);
        var pausedBefore = GC.GetTotalPauseDuration();
        var clock = Stopwatch.StartNew();
        var published = await contender.RoundAsync(envelopes);
        var rate = count / clock.Elapsed.TotalSeconds;
        // The whole process (the mock brokers too, and the idle contenders' polling) per event.
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / count;
        var allocated = (GC.GetTotalAllocatedBytes() - allocatedBefore) / 1024.0 / count;
        results[contender.Name].Add(rate);
        if (verbose)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {contender.Name,-8} round {round}: produced in {published.TotalMilliseconds:N0} ms, consumed by {clock.Elapsed.TotalMilliseconds:N0} ms, {cpu:N1} µs CPU/event, {allocated:N1} KB allocated/event, {GC.CollectionCount(0) - collectionsBefore} GCs ({GC.CollectionCount(1) - gen1Before} of gen 1, paused {(GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds:N0} ms), {System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore} methods compiled"));
        allocations?.Report(count, 25);
    }
}
foreach (var contender in contenders)
    await contender.DisposeAsync();
Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
File.Delete(database);
File.Delete(database + "-hdr");

double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
foreach (var (name, values) in results)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-9} {Median(values),10:N0} events/s (runs: {string.Join(", ", values.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))})"));
// Rounds ran one after another, so each round's ratio compares neighbours in time.
foreach (var (a, b) in new[] { ("platform", "bare"), ("platform-hdr", "bare"), ("platform", "platform-hdr"), ("platform", "bare-floor"), ("bare-floor", "bare"), ("platform", "bare-tx"), ("platform", "bare-hdr"), ("platform", "bare-mt"), ("platform", "bare-mt-hdr"), ("bare-tx", "bare"), ("bare-hdr", "bare"), ("bare-1hdr", "bare"), ("bare-mt", "bare"), ("bare-mt-hdr", "bare") })
{
    if (results.ContainsKey(a) && results.ContainsKey(b))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{a} / {b}: {Median(results[a].Zip(results[b], (x, y) => x / y).ToList()):0.00}x{(a == "platform" && b == "bare" ? " (goal >= 0.7x)" : "")}"));
}

abstract class Contender(string name) : IAsyncDisposable
{
    public string Name => name;

    public abstract Task StartAsync();

    /// <summary>Produces the events and waits until all of them were consumed; returns how long producing took.</summary>
    public abstract Task<TimeSpan> RoundAsync(ReadOnlyMemory<EventEnvelope> events);

    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// The outbox relay's Kafka publisher, and a runtime whose event consumer counts what it gets
/// (without <c>consume</c>, no consumer: a round is the publishing alone).
/// </summary>
sealed class PlatformContender(KafkaMockCluster cluster, string database, bool consume, bool packed = true) : Contender(packed ? "platform" : "platform-hdr")
{
    readonly string _prefix = packed ? "platform" : "platformhdr";

    readonly Counter _counter = new();
    IHost? _host;

    public override async Task StartAsync()
    {
        cluster.CreateTopic(_prefix + ".events.order", Partitions.Count, replicationFactor: 3);
        _host = new HostBuilder()
            .ConfigureLogging(logging => logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning)) // a round that never ends says why
            .ConfigureServices(services =>
            {
                services.AddSingleton(_counter);
                services.AddPlatform(cfg =>
                {
                    cfg.UseSqlite($"Data Source={database}");
                    cfg.UseKafka(cluster.BootstrapServers);
                    cfg.Transport.QueuePrefix = "bench-" + _prefix;
                    cfg.Transport.Kafka.TopicFormat = _prefix + ".events.{aggregate}";
                    if (!packed)
                        cfg.Transport.Kafka.PackEventHeaders = false; // the default packs them
                    cfg.Transport.Kafka.CreateTopics = false;
                    cfg.Transport.Kafka.GroupProtocol = GroupProtocol.Consumer;
                    cfg.Transport.PrefetchCount = 64;
                    cfg.Transport.Kafka.Consumer["fetch.wait.max.ms"] = FetchWait.Ms.ToString(CultureInfo.InvariantCulture);
                    cfg.Relay.Enabled = false;        // the envelopes are handed to the relay's publisher directly
                    cfg.Projections.Enabled = false;
                    cfg.Sagas.Enabled = false;
                    cfg.AddDomain(typeof(OrdersDomain));
                    if (consume)
                        cfg.AddEventConsumer<CountingConsumer>();
                });
            }).Build();
        await _host.StartAsync();
    }

    public override async Task<TimeSpan> RoundAsync(ReadOnlyMemory<EventEnvelope> events)
    {
        var done = _counter.Expect(events.Length);
        var publisher = _host!.Services.GetRequiredService<IEventPublisher>();
        var clock = Stopwatch.StartNew();
        for (var offset = 0; offset < events.Length; offset += Batch.Size)
            await publisher.PublishAsync(events.Slice(offset, Math.Min(Batch.Size, events.Length - offset)).ToArray(), CancellationToken.None);
        var produced = clock.Elapsed;
        if (consume)
            await done.WaitAsync(TimeSpan.FromMinutes(5));
        return produced;
    }

    public override async ValueTask DisposeAsync()
    {
        await _host!.StopAsync();
        _host.Dispose();
    }
}

/// <summary>
/// A consumer loop in a group that deserializes every record (and with <c>mediator</c>, sends it into
/// a MassTransit mediator), and a producer keyed like the relay.
/// </summary>
sealed class BareContender(KafkaMockCluster cluster, bool transactional, bool headers = false, bool mediator = false, bool packed = false)
    : Contender(NameOf(transactional, headers, mediator, packed))
{
    static string NameOf(bool transactional, bool headers, bool mediator, bool packed) =>
        transactional ? (mediator ? "bare-floor" : "bare-tx") : packed ? "bare-1hdr"
        : (headers, mediator) switch { (true, true) => "bare-mt-hdr", (true, false) => "bare-hdr", (false, true) => "bare-mt", _ => "bare" };

    readonly Counter _counter = new();
    readonly CancellationTokenSource _stop = new();
    readonly string _topic = NameOf(transactional, headers, mediator, packed) + ".events.order";
    readonly EventTypeDescriptor _descriptor = OrdersDomain.CreateEventTypeRegistry().Get(typeof(OrderPlaced));
    Task? _consuming;
    IProducer<string, byte[]>? _producer;
    ServiceProvider? _services;

    public override Task StartAsync()
    {
        cluster.CreateTopic(_topic, Partitions.Count, replicationFactor: 3);
        MassTransit.Mediator.IMediator? bus = null;
        if (mediator)
        {
            _services = new ServiceCollection()
                .AddSingleton(_counter)
                .AddMediator(m => m.AddConsumer<CountingConsumer>())
                .BuildServiceProvider();
            bus = _services.GetRequiredService<MassTransit.Mediator.IMediator>();
        }
        _consuming = Task.Factory.StartNew(() =>
        {
            using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
            {
                BootstrapServers = cluster.BootstrapServers, GroupId = Name, GroupProtocol = GroupProtocol.Consumer,
                AutoOffsetReset = AutoOffsetReset.Earliest, IsolationLevel = IsolationLevel.ReadCommitted, EnableAutoCommit = true, FetchWaitMaxMs = FetchWait.Ms,
            }).Build();
            consumer.Subscribe(_topic);
            while (!_stop.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(50));
                if (record?.Message is null)
                    continue;
                var message = _descriptor.Deserialize(record.Message.Value, _descriptor.SchemaVersion);
                if (bus is null)
                    _counter.Seen();
                else if (!headers) // the consumer counts
                    bus.Send((OrderPlaced)message).GetAwaiter().GetResult();
                else
                {
                    var read = record.Message.Headers.Select(h => (h.Key, Value: System.Text.Encoding.UTF8.GetString(h.GetValueBytes()))).ToArray();
                    bus.Send((OrderPlaced)message, Pipe.Execute<SendContext<OrderPlaced>>(context =>
                    {
                        foreach (var (key, value) in read)
                            context.Headers.Set(key, value);
                    })).GetAwaiter().GetResult();
                }
            }
            consumer.Close();
        }, TaskCreationOptions.LongRunning);
        var config = new ProducerConfig { BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 5 };
        if (transactional)
            config.TransactionalId = Name;
        _producer = new ProducerBuilder<string, byte[]>(config).Build();
        if (transactional)
            _producer.InitTransactions(TimeSpan.FromSeconds(30));
        return Task.CompletedTask;
    }

    public override async Task<TimeSpan> RoundAsync(ReadOnlyMemory<EventEnvelope> events)
    {
        var done = _counter.Expect(events.Length);
        var clock = Stopwatch.StartNew();
        await Task.Run(() =>
        {
            var all = events.Span;
            for (var offset = 0; offset < all.Length; offset += Batch.Size)
            {
                if (transactional)
                    _producer!.BeginTransaction();
                foreach (var envelope in all.Slice(offset, Math.Min(Batch.Size, all.Length - offset)))
                {
                    var buffer = new ArrayBufferWriter<byte>(256);
                    _descriptor.Serialize(envelope.Event, buffer);
                    _producer!.Produce(_topic, new Message<string, byte[]>
                    {
                        Key = envelope.StreamId, Value = buffer.WrittenSpan.ToArray(), Headers = headers ? HeadersOf(envelope) : null,
                    });
                }
                if (transactional)
                    _producer!.CommitTransaction(TimeSpan.FromSeconds(30));
            }
            if (!transactional)
                _producer!.Flush();
        });
        var produced = clock.Elapsed;
        await done.WaitAsync(TimeSpan.FromMinutes(5));
        return produced;
    }

    // The headers the relay writes for these events (they carry no correlation, causation or trace).
    Confluent.Kafka.Headers HeadersOf(EventEnvelope envelope)
    {
        if (packed) // the same values in one header, separated by ';': what the header count costs
        {
            return new Confluent.Kafka.Headers
            {
                {
                    "platform-event", System.Text.Encoding.UTF8.GetBytes(string.Join(';', envelope.EventId.ToString("D"), envelope.TypeName,
                        _descriptor.SchemaVersion.ToString(CultureInfo.InvariantCulture), envelope.StreamId, envelope.StreamType,
                        envelope.StreamVersion.ToString(CultureInfo.InvariantCulture), envelope.GlobalPosition.ToString(CultureInfo.InvariantCulture)))
                },
            };
        }
        static byte[] Utf8(string value) => System.Text.Encoding.UTF8.GetBytes(value);
        return new Confluent.Kafka.Headers
        {
            { PlatformHeaders.EventId, Utf8(envelope.EventId.ToString("D")) },
            { PlatformHeaders.EventType, Utf8(envelope.TypeName) },
            { PlatformHeaders.SchemaVersion, Utf8(_descriptor.SchemaVersion.ToString(CultureInfo.InvariantCulture)) },
            { PlatformHeaders.StreamId, Utf8(envelope.StreamId) },
            { PlatformHeaders.StreamType, Utf8(envelope.StreamType) },
            { PlatformHeaders.StreamVersion, Utf8(envelope.StreamVersion.ToString(CultureInfo.InvariantCulture)) },
            { PlatformHeaders.GlobalPosition, Utf8(envelope.GlobalPosition.ToString(CultureInfo.InvariantCulture)) },
        };
    }

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _consuming!;
        _producer!.Dispose();
        if (_services is not null)
            await _services.DisposeAsync();
    }
}

/// <summary>
/// Partitions per topic: the runtime's default for the topics it creates. The mock cluster keeps at
/// most 5 MB per partition (hard-coded in librdkafka), about 13,000 of these records with the
/// platform's headers: with 6 partitions a 100,000-event round put 16,700 records in each, and a
/// consumer that fell that far behind had the rest deleted under it ("Offset out of range").
/// </summary>
static class Partitions
{
    public static readonly int Count = new PlatformOptions().Transport.Kafka.Partitions;
}

/// <summary>
/// fetch.wait.max.ms of every contender's consumer. librdkafka's mock cluster holds a fetch that
/// found nothing new for this long even when records arrive meanwhile (a broker answers as soon as
/// they do): at librdkafka's default, 500 ms, a consumer that caught up with its producer waited up to
/// half a second for the next records, and rounds ended on that timing (bare: 163,000 to 488,000
/// events/s in one run; the platform sat idle 50-100 ms of every 100 ms at times). PLATFORM_BENCH_FETCH_WAIT overrides it.
/// </summary>
static class FetchWait
{
    public static readonly int Ms = Environment.GetEnvironmentVariable("PLATFORM_BENCH_FETCH_WAIT") is { } ms
        ? int.Parse(ms, CultureInfo.InvariantCulture)
        : 10;
}

/// <summary>Events per Kafka transaction: the relay's batch on Kafka, unless PLATFORM_BENCH_BATCH says otherwise.</summary>
static class Batch
{
    public static readonly int Size = Environment.GetEnvironmentVariable("PLATFORM_BENCH_BATCH") is { } size
        ? int.Parse(size, CultureInfo.InvariantCulture)
        : new PlatformOptions().Relay.BatchSizeOn(TransportKind.Kafka);
}

/// <summary>Counts consumed events and completes a round's task when the round's last one arrives.</summary>
sealed class Counter
{
    long _seen;
    long _target = long.MaxValue;
    TaskCompletionSource _done = new();

    public Task Expect(int count)
    {
        // No target while the round's task is replaced, so a late count cannot complete the new one.
        Volatile.Write(ref _target, long.MaxValue);
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _target, Interlocked.Read(ref _seen) + count);
        if (Interlocked.Read(ref _seen) >= Volatile.Read(ref _target))
            _done.TrySetResult();
        return _done.Task;
    }

    public void Seen()
    {
        if (Interlocked.Increment(ref _seen) >= Volatile.Read(ref _target))
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
