using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using Platform.Benchmarks.Runtime;

// Runtime benchmark (issue 6, "Measure"): every contender side by side in one process.
//   dotnet run --project tests/Platform.Benchmarks.Runtime -c Release -- [--quick] [--rounds 3]
//       [--orders N] [--rebuild-orders N] [--no-rabbitmq] [--no-e2e] [--no-rebuild] [--markdown FILE]
//       [--only NAME-PART]   (only the end-to-end contenders whose name contains one of these comma-separated parts)
// PostgreSQL from PLATFORM_POSTGRES, RabbitMQ from PLATFORM_RABBITMQ (source .services/env); each
// contender gets its own database on that server.
//
// 1. End to end, append -> row visible, on the in-memory transport and on RabbitMQ: the platform
//    (direct appends, outbox relay, IdempotentEventConsumer; and the projection engine tailing the
//    store) against a bare MassTransit consumer fed by publishing the same events straight onto the
//    bus. Same writers and prefetch (64); the bare consumer runs 64 messages at once, the platform's
//    consumer commits them in groups (its defaults: 32 partitions, up to 4 transactions of up to 16
//    deliveries). PLATFORM_BENCH_COMMIT_BATCH=1 runs the platform with a transaction per event.
//    A second baseline ("baseline+events") inserts each event into an events table like the
//    store's before publishing it: hand-written event sourcing without outbox or inbox, so the
//    ratio to it is what the platform's guarantees cost beyond storing the events at all.
//    Rounds run the contenders interleaved. PLATFORM_BENCH_CONCURRENT_APPENDS sets the platform's
//    Store:ConcurrentAppends (0 sends every append alone, as before appends went in groups).
// 2. Rebuild: ProjectionRebuilder (OrderSummary) against Marten 9.58's async daemon rebuilding an
//    equivalent single-stream projection of the same events.

var quick = false;
var rounds = 3;
int? orders = null;
int? rebuildOrders = null;
var rabbit = true;
var endToEnd = true;
var rebuild = true;
string? markdown = null;
string? only = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick": quick = true; break;
        case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--orders": orders = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--rebuild-orders": rebuildOrders = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--no-rabbitmq": rabbit = false; break;
        case "--no-e2e": endToEnd = false; break;
        case "--no-rebuild": rebuild = false; break;
        case "--markdown": markdown = args[++i]; break;
        case "--only": only = args[++i]; break; // contenders whose name contains this (for profiling one)
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

const int Writers = 8;
const int Prefetch = 64;
var e2eOrders = orders ?? (quick ? 200 : 3_000);
// A full run warms up on a third of a round: with 300 orders the first measured round of the
// platform consumer still ran partly on tier-0 code (and before PostgreSQL's first autoanalyze),
// at a third to half of the later rounds' speed.
var warmOrders = quick ? 50 : 1_000;
var replayOrders = rebuildOrders ?? (quick ? 1_000 : 30_000);

var admin = Environment.GetEnvironmentVariable("PLATFORM_POSTGRES");
var rabbitMq = Environment.GetEnvironmentVariable("PLATFORM_RABBITMQ");
if (admin is null)
{
    Console.Error.WriteLine("PLATFORM_POSTGRES is not set (source .services/env)");
    return 1;
}
if (rabbit && rabbitMq is null)
{
    Console.Error.WriteLine("PLATFORM_RABBITMQ is not set (source .services/env), or pass --no-rabbitmq");
    return 1;
}

await using (var server = new NpgsqlConnection(admin))
{
    await server.OpenAsync();
    string Show(string setting)
    {
        using var command = new NpgsqlCommand("SHOW " + setting, server);
        return (string)command.ExecuteScalar()!;
    }
    Console.WriteLine($"PostgreSQL {server.PostgreSqlVersion}: fsync={Show("fsync")}, synchronous_commit={Show("synchronous_commit")}, " +
                      $"full_page_writes={Show("full_page_writes")}; {Environment.ProcessorCount} cores");
}
Console.WriteLine($"{(quick ? "quick" : "full")} mode: end to end {e2eOrders:N0} orders ({e2eOrders * OrderWorkload.EventsPerOrder:N0} events) " +
                  $"per run x {rounds} rounds, {Writers} writers, prefetch {Prefetch}; rebuild {replayOrders:N0} orders " +
                  $"({replayOrders * OrderWorkload.EventsPerOrder:N0} events) x {rounds}");

using var allocations = AllocationSampler.StartIfAsked();
if (endToEnd)
{
    var groups = new List<(string Group, string? Uri)> { ("in-memory", null) };
    if (rabbit)
        groups.Add(("RabbitMQ", rabbitMq));
    foreach (var (group, uri) in groups)
    {
        Console.WriteLine($"end to end, {group}:");
        var contenders = new List<Contender>();
        try
        {
            contenders.Add(await PlatformConsumerContender.StartAsync(admin, uri, Prefetch));
            // The projection engine tails the store; on each transport the relay publishes meanwhile.
            contenders.Add(await ProjectionContender.StartAsync(admin, uri));
            contenders.Add(await BaselineContender.StartAsync(admin, uri, Prefetch));
            contenders.Add(await BaselineContender.StartAsync(admin, uri, Prefetch, storeEvents: true));
            if (only is not null)
            {
                foreach (var other in contenders.Where(c => !only.Split(',').Any(part => c.Name.Contains(part, StringComparison.OrdinalIgnoreCase))).ToArray())
                {
                    contenders.Remove(other);
                    await other.DisposeAsync();
                }
            }
            // Warm-up: JIT, pools, prepared statements, queues. A full run warms every contender up
            // again until the JIT is quiet (under 100 methods compiled in a whole pass) or 3 minutes
            // have passed: the tiered JIT promotes hot methods on a background thread that the busy
            // benchmark starves on 2 cores, so hundreds of methods per round were still being
            // re-compiled after 8 passes, costing a second of JIT per 3-second round (the platform,
            // with the most code, most of all: its rounds sped up from 3,000 to 4,400 events/s as that
            // ended).
            var warming = Stopwatch.StartNew();
            for (var pass = 1; ; pass++)
            {
                var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                foreach (var contender in contenders)
                    await contender.RunAsync(warmOrders, Writers);
                compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiled;
                allocations?.Report(1, top: 0);
                if (quick || (pass >= 2 && compiled < 100) || warming.Elapsed > TimeSpan.FromMinutes(3))
                {
                    Console.WriteLine($"  warm-up: {pass} pass(es) of {warmOrders:N0} orders per contender in {warming.Elapsed.TotalSeconds:N0} s; " +
                                      $"the JIT compiled {compiled:N0} methods in the last");
                    break;
                }
            }
            for (var round = 0; round < rounds; round++)
            {
                // Each round starts with the next contender: in the event store benchmark whoever ran
                // first in a round ran about a fifth slower, and a fixed order put that on the platform.
                foreach (var contender in contenders.Skip(round % contenders.Count).Concat(contenders.Take(round % contenders.Count)))
                {
                    var before = Cpu.Sample(contender.Database);
                    var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
                    var jittedBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
                    var allocatedBefore = GC.GetTotalAllocatedBytes();
                    var (seconds, p50, p99) = await contender.RunAsync(e2eOrders, Writers);
                    var after = Cpu.Sample(contender.Database);
                    var jit = System.Runtime.JitInfo.GetCompilationTime() - jitBefore;
                    var events = e2eOrders * OrderWorkload.EventsPerOrder;
                    Harness.Record(new Run(group, contender.Name, events, seconds, p50, p99)
                    {
                        CpuPerEvent = ((after.Runtime - before.Runtime).TotalMicroseconds / events, (after.Postgres - before.Postgres).TotalMicroseconds / events),
                        Jit = jit,
                        Jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jittedBefore,
                        AllocatedPerEvent = (double)(GC.GetTotalAllocatedBytes() - allocatedBefore) / events,
                    });
                    allocations?.Report(events);
                    if (contender.Probe.OutOfOrderCount > 0)
                        Console.WriteLine($"    (order guard sent {contender.Probe.OutOfOrderCount:N0} deliveries back to wait for a predecessor)");
                }
            }
        }
        finally
        {
            foreach (var contender in contenders)
                await contender.DisposeAsync();
        }
    }
}

if (rebuild)
{
    Console.WriteLine("rebuild:");
    var ourDb = await Harness.CreateDatabaseAsync(admin, "bench_rt_rebuild_ours");
    var martenDb = await Harness.CreateDatabaseAsync(admin, "bench_rt_rebuild_marten");
    try
    {
        await using var ours = await OurRebuild.CreateAsync(ourDb);
        await using var marten = new MartenRebuild(martenDb);
        await marten.CreateSchemaAsync();
        await ours.LoadAsync(replayOrders);
        await marten.LoadAsync(replayOrders);
        var events = replayOrders * OrderWorkload.EventsPerOrder;
        // Warm-up: one untimed rebuild each.
        await ours.RebuildAsync(replayOrders);
        await marten.RebuildAsync(replayOrders);
        // CPU per event as for the end-to-end runs (Marten's daemon closes its connections when
        // it is done, so its PostgreSQL share is only what backends still open at the end used).
        async Task Timed(string name, string database, Func<Task<double>> run)
        {
            var before = Cpu.Sample(database);
            var seconds = await run();
            var after = Cpu.Sample(database);
            Harness.Record(new Run("rebuild", name, events, seconds, double.NaN, double.NaN)
            {
                CpuPerEvent = ((after.Runtime - before.Runtime).TotalMicroseconds / events, (after.Postgres - before.Postgres).TotalMicroseconds / events),
            });
        }
        for (var round = 0; round < rounds; round++)
        {
            // Alternately first, as the end-to-end contenders.
            var oursFirst = round % 2 == 0;
            if (oursFirst)
                await Timed("platform: ProjectionRebuilder (OrderSummary)", ourDb, () => ours.RebuildAsync(replayOrders));
            await Timed("Marten 9.58: daemon rebuild (single-stream)", martenDb, () => marten.RebuildAsync(replayOrders));
            if (!oursFirst)
                await Timed("platform: ProjectionRebuilder (OrderSummary)", ourDb, () => ours.RebuildAsync(replayOrders));
        }
    }
    finally
    {
        await Harness.DropDatabaseAsync(admin, ourDb);
        await Harness.DropDatabaseAsync(admin, martenDb);
    }
}

var table = Summary(rounds);
Console.WriteLine();
Console.WriteLine(table);
if (markdown is not null)
    await File.WriteAllTextAsync(markdown, table);
return 0;

// Median and range over the rounds; the ratio is taken per round (platform and baseline ran back
// to back) and its median and range are shown.
static string Summary(int rounds)
{
    var text = new StringBuilder();
    text.AppendLine("| group | contender | events/run | events/s, median (range) | p50 ms | p99 ms | ÷ baseline (per round) | ÷ baseline+events (per round) |");
    text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
    foreach (var group in Harness.Runs.Select(r => r.Group).Distinct())
    {
        var runs = Harness.Runs.Where(r => r.Group == group).ToArray();
        var baselineName = runs.FirstOrDefault(r => r.Contender.StartsWith(group == "rebuild" ? "Marten" : "baseline:", StringComparison.Ordinal))?.Contender;
        double[] RatesOf(string? name) => runs.Where(r => r.Contender == name).Select(r => r.EventsPerSecond).ToArray();
        var baseline = RatesOf(baselineName);
        var storing = RatesOf(BaselineContender.StoringName);
        foreach (var contender in runs.Select(r => r.Contender).Distinct())
        {
            var mine = runs.Where(r => r.Contender == contender).ToArray();
            var rates = mine.Select(r => r.EventsPerSecond).ToArray();
            string Ratio(double[] other, string? otherName) => other.Length == 0 || contender == otherName || contender == baselineName
                ? ""
                : Harness.MedianRange(rates.Zip(other, (a, b) => a / b).ToArray(), "F2") + "x";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {group} | {contender} | {mine[0].Events:N0} | {Harness.MedianRange(rates, "N0")} | " +
                $"{(double.IsNaN(mine[0].P50Ms) ? "" : Harness.MedianRange(mine.Select(r => r.P50Ms).ToArray(), "F1"))} | " +
                $"{(double.IsNaN(mine[0].P99Ms) ? "" : Harness.MedianRange(mine.Select(r => r.P99Ms).ToArray(), "F1"))} | " +
                $"{Ratio(baseline, baselineName)} | {Ratio(storing, BaselineContender.StoringName)} |");
        }
    }
    return text.ToString();
}
