using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Platform.Benchmarks.Sagas;
using Platform.Messaging;
using Platform.Runtime.Configuration;
using Shop.Inventory;
using Shop.Orders;
using Shop.Payments;

// dotnet run -c Release --project tests/Platform.Benchmarks.Sagas [-- --quick | --sagas N --rounds N]
// PLATFORM_POSTGRES (the store; SQLite when unset) and PLATFORM_RABBITMQ (the RabbitMQ rows; skipped when unset).
var quick = args.Contains("--quick");
var sagas = Argument("--sagas") ?? (quick ? 300 : 1000);
var rounds = Argument("--rounds") ?? (quick ? 1 : 3);
var postgres = Environment.GetEnvironmentVariable("PLATFORM_POSTGRES");
var rabbit = Environment.GetEnvironmentVariable("PLATFORM_RABBITMQ");
var transports = new List<TransportKind> { TransportKind.InMemory };
if (!string.IsNullOrWhiteSpace(rabbit))
    transports.Add(TransportKind.RabbitMq);
else
    Console.WriteLine("PLATFORM_RABBITMQ is not set: RabbitMQ rows skipped.");
Console.WriteLine($"{sagas} sagas per round, {rounds} round(s) per contender, interleaved; store: {(postgres is null ? "SQLite" : "PostgreSQL")}; {Environment.ProcessorCount} cores");

foreach (var transport in transports)
{
    var results = new Dictionary<string, List<Result>> { ["generated"] = [], ["hand-written"] = [] };
    var contenders = new[] { ("generated", typeof(GeneratedDomain)), ("hand-written", typeof(HandDomain)) };
    // An untimed round per contender first: the process's first round ran on tier-0 code at half the
    // speed of the later ones, and always penalised whichever contender went first.
    if (!quick)
    {
        foreach (var (name, domain) in contenders)
        {
            var warm = await RunAsync(domain, transport, sagas, postgres, rabbit);
            Console.WriteLine($"  {transport,-9} {name,-13} warm-up: {warm.PerSecond,7:0} sagas/s (not counted)");
        }
    }
    for (var round = 0; round < rounds; round++)
    {
        // Alternate which contender goes first, so neither always runs on a colder or warmer process.
        foreach (var (name, domain) in round % 2 == 0 ? contenders : contenders.Reverse())
        {
            var result = await RunAsync(domain, transport, sagas, postgres, rabbit);
            results[name].Add(result);
            Console.WriteLine($"  {transport,-9} {name,-13} round {round + 1}: {result.PerSecond,7:0} sagas/s  p50 {result.P50.TotalMilliseconds,6:0} ms  p99 {result.P99.TotalMilliseconds,6:0} ms");
        }
    }
    var generated = results["generated"].MaxBy(r => r.PerSecond)!;
    var hand = results["hand-written"].MaxBy(r => r.PerSecond)!;
    Console.WriteLine($"{transport}: best generated {generated.PerSecond:0}/s (p99 {generated.P99.TotalMilliseconds:0} ms), " +
        $"best hand-written {hand.PerSecond:0}/s (p99 {hand.P99.TotalMilliseconds:0} ms): ratio {generated.PerSecond / hand.PerSecond:0.00}x; " +
        $"median ratio {Median(results["generated"]) / Median(results["hand-written"]):0.00}x; per round (back to back) " +
        string.Join(", ", results["generated"].Zip(results["hand-written"], (g, h) => (g.PerSecond / h.PerSecond).ToString("0.00", CultureInfo.InvariantCulture))) +
        $", their median {MedianOf(results["generated"].Zip(results["hand-written"], (g, h) => g.PerSecond / h.PerSecond)):0.00}x");
}
return 0;

int? Argument(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : null;
}

static double Median(List<Result> results) => MedianOf(results.Select(r => r.PerSecond));

static double MedianOf(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static async Task<Result> RunAsync(Type domain, TransportKind transport, int count, string? postgres, string? rabbit)
{
    var (connectionString, drop) = await CreateDatabaseAsync(postgres);
    try
    {
        var prefix = "bs-" + Guid.NewGuid().ToString("N")[..10];
        using var host = new HostBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services => services.AddPlatform(cfg =>
            {
                _ = postgres is null ? cfg.UseSqlite(connectionString) : cfg.UsePostgres(connectionString);
                if (transport == TransportKind.RabbitMq)
                    cfg.UseRabbitMq(new Uri(rabbit!));
                cfg.Transport.QueuePrefix = prefix;
                cfg.Transport.AutoDeleteQueues = true;
                cfg.Transport.PrefetchCount = 32;
                cfg.Relay.Enabled = false;
                cfg.Projections.Enabled = false;
                cfg.AddDomain(domain);
                cfg.AddEventConsumer<Services>();
                var services = new Uri("queue:" + cfg.EventQueueName(typeof(Services)) +
                    (transport == TransportKind.RabbitMq ? "?durable=false&autodelete=true" : ""));
                cfg.Sagas.Route<ChargePayment>(services).Route<ReserveInventory>(services).Route<ArrangeShipment>(services);
            }))
            .Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<Platform.Runtime.Sagas.SagaRuntime>().EnsureSchemaAsync(CancellationToken.None);
        var bus = host.Services.GetRequiredService<IBus>();

        // Warm-up: JIT, pools, queues.
        await RunSagasAsync(bus, connectionString, postgres is not null, 50, 0);
        var result = await RunSagasAsync(bus, connectionString, postgres is not null, count, 50);
        await host.StopAsync();
        return result;
    }
    finally
    {
        await drop();
    }
}

static async Task<Result> RunSagasAsync(IBus bus, string connectionString, bool isPostgres, int count, int alreadyCompleted)
{
    var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
    var started = new Dictionary<Guid, DateTimeOffset>(count);
    var clock = Stopwatch.StartNew();
    foreach (var id in ids)
    {
        started[id] = DateTimeOffset.UtcNow;
        await bus.Publish(new OrderPlaced("customer", [new OrderItem("sku", 1, 10m)], 10m, "1 Main Street", "EUR", "standard"),
            Pipe.Execute<PublishContext>(context => context.Headers.Set(PlatformHeaders.StreamId, id.ToString("D"))));
    }
    while (await ScalarAsync(connectionString, isPostgres, "SELECT count(*) FROM saga_instances WHERE current_state = 'Completed'") < count + alreadyCompleted)
    {
        if (clock.Elapsed > TimeSpan.FromMinutes(10))
            throw new TimeoutException("sagas did not complete in 10 minutes");
        await Task.Delay(20);
    }
    var elapsed = clock.Elapsed;
    var latencies = new List<TimeSpan>(count);
    foreach (var (id, at) in await CompletionsAsync(connectionString, isPostgres))
    {
        if (started.TryGetValue(id, out var start))
            latencies.Add(at - start);
    }
    latencies.Sort();
    return new Result(count / elapsed.TotalSeconds, latencies[latencies.Count / 2], latencies[(int)Math.Ceiling(latencies.Count * 0.99) - 1]);
}

static async Task<long> ScalarAsync(string connectionString, bool isPostgres, string sql)
{
    await using System.Data.Common.DbConnection connection = isPostgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
    await connection.OpenAsync();
    await using var command = connection.CreateCommand();
    command.CommandText = sql;
    return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
}

static async Task<List<(Guid Id, DateTimeOffset At)>> CompletionsAsync(string connectionString, bool isPostgres)
{
    await using System.Data.Common.DbConnection connection = isPostgres ? new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
    await connection.OpenAsync();
    await using var command = connection.CreateCommand();
    command.CommandText = "SELECT correlation_id, at FROM saga_history WHERE to_state = 'Completed'";
    var rows = new List<(Guid, DateTimeOffset)>();
    await using var reader = await command.ExecuteReaderAsync();
    while (await reader.ReadAsync())
        rows.Add((Guid.Parse(reader.GetString(0)), DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal)));
    return rows;
}

static async Task<(string ConnectionString, Func<Task> Drop)> CreateDatabaseAsync(string? postgres)
{
    if (postgres is null)
    {
        var file = Path.Combine(Path.GetTempPath(), $"saga-bench-{Guid.NewGuid():N}.db");
        return ($"Data Source={file}", () =>
        {
            SqliteConnection.ClearAllPools();
            foreach (var path in new[] { file, file + "-wal", file + "-shm" })
                File.Delete(path);
            return Task.CompletedTask;
        });
    }
    var connectionString = await Platform.Testing.PostgresDatabases.CreateAsync(postgres, "saga_bench_" + Guid.NewGuid().ToString("N"));
    return (connectionString, () => Platform.Testing.PostgresDatabases.DropAsync(postgres, connectionString));
}

sealed record Result(double PerSecond, TimeSpan P50, TimeSpan P99);
