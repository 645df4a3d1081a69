using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Projections;
using Platform.Runtime.Sagas;
using Shop.Inventory;
using Shop.Orders;
using Shop.Orders.Demo;
using Shop.Payments;

// The Orders example on the hosted runtime, embedded defaults: AddPlatform with the generated
// OrdersDomain (aggregate, projections, the OrderFulfilment saga, the shipping reaction) on a SQLite
// file and the in-memory transport, the hand-written payment and inventory services as MassTransit
// consumers the saga's commands are routed to, and a tenth of the orders stored by an older build at
// OrderPlaced v1. Everything the summary prints is read back from the database.
DemoOptions options;
try
{
    options = DemoOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine(DemoOptions.Usage);
    return 1;
}

var folder = Directory.CreateTempSubdirectory("platform-orders-demo-");
var connectionString = $"Data Source={Path.Combine(folder.FullName, "events.db")}";
try
{
    return await RunAsync(options, connectionString, folder.FullName);
}
finally
{
    SqliteConnection.ClearAllPools();
    folder.Delete(recursive: true);
}

static async Task<int> RunAsync(DemoOptions options, string connectionString, string folder)
{
    var orders = options.Orders;
    Console.WriteLine($"Orders demo: {orders:N0} orders on the hosted runtime (SQLite in {folder}, in-memory transport)");
    Console.WriteLine($"  services fail {options.PaymentFailures:P0} of payments, {options.InventoryFailures:P0} of reservations, " +
                      $"{options.RefundFailures:P0} of refunds (seed {options.Seed})");
    var watch = Stopwatch.StartNew();

    // 1. An older build, which knew OrderPlaced only at v1, stored the first tenth before this one started.
    var legacyOrders = orders / 10;
    await using (var legacy = new ServiceCollection()
                     .AddSingleton<EventTypeDescriptor>(new LegacyOrderPlacedV1())
                     .AddEventStore(o => o.UseSqlite(connectionString))
                     .BuildServiceProvider())
    {
        var store = legacy.GetRequiredService<SqlEventStore>();
        await store.MigrateAsync();
        for (var i = 0; i < legacyOrders; i++)
        {
            var legacyPlaced = new OrderPlacedV1(Customer(i), Items(i), Total(Items(i)), $"{i} Legacy Street", Currency: null);
            await store.AppendAsync(OrderId(i).ToString("D"), Order.AggregateTypeName, ExpectedVersion.NoStream, [EventData.Create(legacyPlaced)]);
        }
    }
    Console.WriteLine($"  {legacyOrders:N0} orders stored by the previous build (OrderPlaced v1: no currency, no shipping method)");

    // 2. The current build, hosted by the runtime.
    var ledger = new ServiceLedger(new FailurePlan(options.Seed, options.PaymentFailures, options.InventoryFailures, options.RefundFailures));
    var logs = new WarningCounter();
    PlatformOptions? platform = null;
    using var host = new HostBuilder()
        .ConfigureLogging(logging => logging.AddProvider(logs))
        .ConfigureServices(services =>
        {
            services.AddSingleton(ledger);
            services.AddPlatform(cfg =>
            {
                cfg.UseSqlite(connectionString).UseInMemoryTransport().AddDomain(typeof(OrdersDomain));
                cfg.Sagas.Enabled = true;
                cfg.Sagas.PollInterval = TimeSpan.FromMilliseconds(50);
                cfg.AddEventConsumer<PaymentService>().AddEventConsumer<InventoryService>();
                var payments = new Uri("queue:" + cfg.EventQueueName(typeof(PaymentService)));
                var inventory = new Uri("queue:" + cfg.EventQueueName(typeof(InventoryService)));
                cfg.Sagas.Route<ChargePayment>(payments).Route<RefundPayment>(payments)
                    .Route<ReserveInventory>(inventory).Route<ReleaseInventory>(inventory).Route<ArrangeShipment>(inventory);
                platform = cfg;
            });
        })
        .Build();
    await host.StartAsync();
    var sagas = new SagaOperations(platform!.Store.Provider, platform.Store.ConnectionString);
    var engine = host.Services.GetRequiredService<ProjectionEngine>();
    var events = host.Services.GetRequiredService<IEventStore>();
    var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
    var progress = new Progress(orders);

    // 3. Orders through the command dispatcher: placed (the saga starts from OrderPlaced) and confirmed
    //    (so the reaction's ShipOrder passes the aggregate's guard once the shipment is arranged).
    var placed = 0;
    var reporting = progress.RunAsync(() => placed, sagas);
    await Parallel.ForEachAsync(Enumerable.Range(0, orders), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, cancel) =>
    {
        if (i >= legacyOrders)
            await dispatcher.DispatchAsync(new PlaceOrder(OrderId(i), Customer(i), Items(i), $"{i} Main Street",
                i % 3 == 0 ? "USD" : "KRW", i % 4 == 0 ? "EXPRESS" : "STANDARD"), cancellationToken: cancel);
        await dispatcher.DispatchAsync(new ConfirmOrder(OrderId(i)), cancellationToken: cancel);
        Interlocked.Increment(ref placed);
    });

    // 4. Wait, bounded, until every saga has ended and nothing moves any more: the projections at the
    //    store's head, and the head unchanged since the last look (the reaction's ShipOrder is done).
    var settled = await WaitAsync(options.Timeout - watch.Elapsed, async () =>
    {
        var ended = Ended(await sagas.CountByStateAsync());
        if (ended < orders)
            return (false, $"{ended:N0} of {orders:N0} sagas ended");
        var lagging = (await engine.GetStatusAsync()).Where(s => s.LagPositions > 0).Select(s => $"{s.Name} {s.LagPositions:N0} behind").ToList();
        return lagging.Count > 0 ? (false, "projections " + string.Join(", ", lagging)) : (true, "");
    }, events);
    await progress.StopAsync(reporting);
    var seconds = watch.Elapsed.TotalSeconds;
    if (settled is not null)
    {
        Console.Error.WriteLine($"error: not done after {options.Timeout.TotalSeconds:0} s: {settled}; " +
                                $"{logs.Count} warnings or errors logged{(logs.First is null ? "" : ", the first: " + logs.First)}. " +
                                "Try fewer orders or a longer --timeout.");
        await host.StopAsync();
        return 1;
    }

    // 5. The summary, from the database: the OrderSummary read model, the saga table, the projection
    //    engine's checkpoints and the store's head.
    var summary = await Summary.ReadAsync(connectionString, sagas, engine, events);
    await host.StopAsync();
    summary.Print(orders, legacyOrders, seconds, ledger, logs.Count);
    return 0;
}

static async Task<string?> WaitAsync(TimeSpan limit, Func<Task<(bool Done, string State)>> done, IEventStore events)
{
    var clock = Stopwatch.StartNew();
    var lastHead = -1L;
    while (true)
    {
        var head = await events.GetHeadPositionAsync();
        var (finished, state) = await done();
        if (finished && head == lastHead)
            return null;
        if (clock.Elapsed >= limit)
            return finished ? $"the store still growing (head {head:N0})" : state;
        lastHead = finished ? head : -1;
        await Task.Delay(200);
    }
}

static long Ended(IReadOnlyDictionary<string, long> byState) =>
    byState.Where(s => s.Key is "Completed" or "Compensated" or "CompensationFailed").Sum(s => s.Value);

static Guid OrderId(int i) => new(i, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]);
static string Customer(int i) => $"customer-{i % 97:D3}";
static OrderItem[] Items(int i) => Enumerable.Range(0, 1 + i % 3).Select(k => new OrderItem($"sku-{(i + k) % 50:D2}", 1 + k, 9.99m + k)).ToArray();
static decimal Total(OrderItem[] items) => items.Sum(x => x.Price * x.Quantity);
