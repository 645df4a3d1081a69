using System.Globalization;
using System.Text;
using Npgsql;
using Platform.Benchmarks.EventStore;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Events;

// Event store benchmark: workloads W1-W4 of issue 5, every contender side by side in one process,
// and W5: single-event appends by 64 writers at once, where appends go to PostgreSQL in groups
// (EventStoreOptions.ConcurrentAppends) against the same store sending every append alone.
//   dotnet run --project tests/Platform.Benchmarks.EventStore -c Release -- [--scale 1] [--no-marten] [--no-sqlite]
//       [--workloads W1,W2,W3,W4,W5] [--markdown FILE]
// PostgreSQL comes from PLATFORM_POSTGRES (source .services/env); each contender gets its own database there.

var scale = 1.0;
var marten = true;
string? markdown = null;
var workloads = new HashSet<string>(["W1", "W2", "W3", "W4", "W5"]);
var sqlite = true;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--scale": scale = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--no-marten": marten = false; break;
        case "--markdown": markdown = args[++i]; break;
        case "--workloads": workloads = [.. args[++i].Split(',')]; break;
        case "--no-sqlite": sqlite = false; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

const int Writers = 8;
const int BulkWriters = 4;
const int ManyWriters = 64;
const int AggregateEvents = 10_000;
const int Loads = 5;
const int Rounds = 6;
var w1Appends = (int)(100_000 * scale) / (Writers * Rounds) * (Writers * Rounds);
var w1Streams = Math.Max(Writers * Rounds, (int)(10_000 * scale));
var w2Batches = Math.Max(BulkWriters * Rounds, (int)(10_000 * scale) / Rounds * Rounds);
var w5Appends = (int)(40_000 * scale) / (ManyWriters * Rounds) * (ManyWriters * Rounds);
var w5Streams = Math.Max(ManyWriters * Rounds, (int)(4_000 * scale));
var registry = EventTypeRegistry.Create(new ItemAddedDescriptor());
var admin = Environment.GetEnvironmentVariable("PLATFORM_POSTGRES");

Console.WriteLine($"scale {scale}: W1 {w1Appends:N0} single-event appends on {w1Streams:N0} streams by {Writers} writers; " +
                  $"W2 {w2Batches * 100:N0} events in batches of 100 by {BulkWriters} writers; W3 {AggregateEvents:N0}-event aggregate x{Loads}; W4 read all; " +
                  $"W5 {w5Appends:N0} single-event appends on {w5Streams:N0} streams by {ManyWriters} writers");

if (admin is null)
{
    Console.WriteLine("PLATFORM_POSTGRES is not set: PostgreSQL contenders skipped (source .services/env)");
}
else
{
    await using (var server = new NpgsqlConnection(admin))
    {
        await server.OpenAsync();
        await using var fsync = new NpgsqlCommand("SHOW fsync", server);
        Console.WriteLine($"PostgreSQL {server.PostgreSqlVersion}, fsync={await fsync.ExecuteScalarAsync()}");
    }
    var oursDb = await Harness.CreateDatabaseAsync(admin, "bench_ours");
    var rawDb = await Harness.CreateDatabaseAsync(admin, "bench_raw");
    var martenDb = await Harness.CreateDatabaseAsync(admin, "bench_marten");
    var quickDb = await Harness.CreateDatabaseAsync(admin, "bench_marten_quick");
    var aloneDb = await Harness.CreateDatabaseAsync(admin, "bench_ours_alone");
    try
    {
        await using var store = new SqlEventStore(new EventStoreOptions().UsePostgres(oursDb), registry);
        await store.MigrateAsync();
        var ours = new OurStore(store);
        await using var aloneStore = new SqlEventStore(new EventStoreOptions { ConcurrentAppends = 0 }.UsePostgres(aloneDb), registry);
        await aloneStore.MigrateAsync();
        var alone = new OurStore(aloneStore);
        await using var rawSource = new NpgsqlDataSourceBuilder(rawDb + ";Max Auto Prepare=16").Build();
        var raw = new RawNpgsql(rawSource);
        await raw.CreateTableAsync();
        await using var rich = new MartenStore(martenDb, quick: false);
        await using var quick = new MartenStore(quickDb, quick: true);
        if (marten)
        {
            await rich.CreateSchemaAsync();
            await quick.CreateSchemaAsync();
        }

        if (workloads.Contains("W1"))
        {
            // Warm-up on other streams: JIT, connection pools, prepared statements, for every contender alike.
            await ours.W1Async(Writers * 50, Writers * 10, Writers, "warm");
            await alone.W1Async(Writers * 50, Writers * 10, Writers, "warm");
            await raw.W1Async(Writers * 50, Writers * 10, Writers, "warm");
            if (marten)
            {
                await rich.W1Async(Writers * 20, Writers * 10, Writers, "warm");
                await quick.W1Async(Writers * 20, Writers * 10, Writers, "warm");
            }
            var w1Contenders = new List<(string, Func<int, Task>)>
            {
                ("ours", r => ours.W1Async(w1Appends / Rounds, w1Streams / Rounds, Writers, $"order-r{r}")),
                ("ours, every append alone", r => alone.W1Async(w1Appends / Rounds, w1Streams / Rounds, Writers, $"order-r{r}")),
                ("raw INSERT", r => raw.W1Async(w1Appends / Rounds, w1Streams / Rounds, Writers, $"order-r{r}")),
            };
            if (marten)
            {
                w1Contenders.Add(("Marten default", r => rich.W1Async(w1Appends / Rounds, w1Streams / Rounds, Writers, $"order-r{r}")));
                w1Contenders.Add(("Marten quick", r => quick.W1Async(w1Appends / Rounds, w1Streams / Rounds, Writers, $"order-r{r}")));
            }
            await Harness.RoundsAsync("W1", "postgres", Rounds, w1Appends / Rounds / Writers * Writers, w1Contenders);
        }

        if (workloads.Contains("W5"))
        {
            await ours.W1Async(ManyWriters * 20, ManyWriters * 10, ManyWriters, "warm5");
            await alone.W1Async(ManyWriters * 20, ManyWriters * 10, ManyWriters, "warm5");
            await raw.W1Async(ManyWriters * 20, ManyWriters * 10, ManyWriters, "warm5");
            await Harness.RoundsAsync("W5", "postgres", Rounds, w5Appends / Rounds / ManyWriters * ManyWriters,
            [
                ("ours", r => ours.W1Async(w5Appends / Rounds, w5Streams / Rounds, ManyWriters, $"many-r{r}")),
                ("ours, every append alone", r => alone.W1Async(w5Appends / Rounds, w5Streams / Rounds, ManyWriters, $"many-r{r}")),
                ("raw INSERT", r => raw.W1Async(w5Appends / Rounds, w5Streams / Rounds, ManyWriters, $"many-r{r}")),
            ]);
        }

        if (workloads.Contains("W2"))
        {
            var w2Contenders = new List<(string, Func<int, Task>)>
            {
                ("ours", r => ours.W2Async(w2Batches / Rounds, BulkWriters, $"bulk-r{r}")),
                ("raw binary COPY", r => raw.W2Async(w2Batches / Rounds, BulkWriters, $"bulk-r{r}")),
            };
            if (marten)
                w2Contenders.Add(("Marten default", r => rich.W2Async(w2Batches / Rounds, BulkWriters, $"bulk-r{r}")));
            await Harness.RoundsAsync("W2", "postgres", Rounds, w2Batches / Rounds * 100L, w2Contenders);
        }

        if (workloads.Contains("W3"))
        {
            await ours.PrepareW3Async("big-order", AggregateEvents);
            Check(await ours.LoadAsync("big-order", 0));
            Check(await ours.LoadAsync("big-order", 100));
            await Harness.MeasureAsync("W3", "postgres", "ours, no snapshot", (long)AggregateEvents * Loads, async () =>
            {
                for (var i = 0; i < Loads; i++) Check(await ours.LoadAsync("big-order", 0));
            });
            await Harness.MeasureAsync("W3", "postgres", "ours, snapshot every 100", (long)AggregateEvents * Loads, async () =>
            {
                for (var i = 0; i < Loads; i++) Check(await ours.LoadAsync("big-order", 100));
            });
            if (marten)
            {
                await rich.PrepareW3Async("big-order", AggregateEvents);
                Check(await rich.LoadAsync("big-order"));
                await Harness.MeasureAsync("W3", "postgres", "Marten live aggregation", (long)AggregateEvents * Loads, async () =>
                {
                    for (var i = 0; i < Loads; i++) Check(await rich.LoadAsync("big-order"));
                });
            }
        }

        if (workloads.Contains("W4"))
        {
            long counted = 0;
            // One untimed pass each: tiered JIT compiles the read loops well only after they have run.
            await ours.W4Async();
            await raw.W4Async();
            if (marten)
                await rich.W4Async();
            var oursW4 = await Harness.MeasureAsync("W4", "postgres", "ours", await store.GetHeadPositionAsync(), async () => counted = await ours.W4Async());
            Console.WriteLine($"       (ours read {counted:N0} events)");
            await Harness.MeasureAsync("W4", "postgres", "raw ordered reader", await CountAsync(rawSource, "raw_events"), async () => counted = await raw.W4Async());
            if (marten)
            {
                await using var martenSource = NpgsqlDataSource.Create(martenDb);
                await Harness.MeasureAsync("W4", "postgres", "Marten raw events", await CountAsync(martenSource, "public.mt_events"), async () => counted = await rich.W4Async());
            }
        }
    }
    finally
    {
        foreach (var db in new[] { oursDb, rawDb, martenDb, quickDb, aloneDb })
            await Harness.DropDatabaseAsync(admin, db);
    }
}

var sqlitePath = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.db");
if (sqlite)
try
{
    await using var store = new SqlEventStore(new EventStoreOptions().UseSqlite($"Data Source={sqlitePath}"), registry);
    await store.MigrateAsync();
    var ours = new OurStore(store);
    if (workloads.Contains("W1"))
        await ours.W1Async(Writers * 50, Writers * 10, Writers, "warm");
    if (workloads.Contains("W1"))
        await Harness.MeasureAsync("W1", "sqlite", "ours", w1Appends, () => ours.W1Async(w1Appends, w1Streams, Writers));
    if (workloads.Contains("W2") || workloads.Contains("W4"))
        await Harness.MeasureAsync("W2", "sqlite", "ours", w2Batches * 100L, () => ours.W2Async(w2Batches, BulkWriters));
    await ours.PrepareW3Async("big-order", AggregateEvents);
    Check(await ours.LoadAsync("big-order", 0));
    Check(await ours.LoadAsync("big-order", 100));
    await Harness.MeasureAsync("W3", "sqlite", "ours, no snapshot", (long)AggregateEvents * Loads, async () =>
    {
        for (var i = 0; i < Loads; i++) Check(await ours.LoadAsync("big-order", 0));
    });
    await Harness.MeasureAsync("W3", "sqlite", "ours, snapshot every 100", (long)AggregateEvents * Loads, async () =>
    {
        for (var i = 0; i < Loads; i++) Check(await ours.LoadAsync("big-order", 100));
    });
    await ours.W4Async();
    await Harness.MeasureAsync("W4", "sqlite", "ours", await store.GetHeadPositionAsync(), () => ours.W4Async());
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    foreach (var file in new[] { sqlitePath, sqlitePath + "-wal", sqlitePath + "-shm" })
        File.Delete(file);
}

var table = Summary(scale);
Console.WriteLine();
Console.WriteLine(table);
if (markdown is not null)
    await File.WriteAllTextAsync(markdown, table);
return 0;

static void Check(OrderTotals totals)
{
    if (totals.Items == 0)
        throw new InvalidOperationException("the aggregate loaded empty");
}

static async Task<long> CountAsync(NpgsqlDataSource source, string table)
{
    await using var command = source.CreateCommand($"SELECT count(*) FROM {table}");
    return (long)(await command.ExecuteScalarAsync())!;
}

static string Summary(double scale)
{
    var results = Harness.Results;
    double Rate(string workload, string database, string contender) =>
        results.FirstOrDefault(r => r.Workload == workload && r.Database == database && r.Contender == contender)?.EventsPerSecond ?? double.NaN;
    string Ratio(string workload, string contender) =>
        double.IsNaN(Rate(workload, "postgres", contender)) ? "" : $"{Rate(workload, "postgres", "ours") / Rate(workload, "postgres", contender):F2}x";

    var text = new StringBuilder();
    text.AppendLine(CultureInfo.InvariantCulture, $"| workload | database | contender | events | seconds | events/s | ours ÷ this | peak MB | alloc B/event |");
    text.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|");
    foreach (var r in results)
    {
        var ratio = r.Database == "postgres" && r.Contender != "ours" && r.Workload != "W3" ? Ratio(r.Workload, r.Contender) : "";
        if (r.Workload == "W3")
            ratio = $"{r.Seconds * 1000 / (r.Events / 10_000.0):F1} ms/load";
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Workload} | {r.Database} | {r.Contender} | {r.Events:N0} | {r.Seconds:F2} | {r.EventsPerSecond:N0} | {ratio} | {r.PeakWorkingSetMb} | {r.AllocatedBytesPerEvent:N0} |");
    }
    return text.ToString();
}
