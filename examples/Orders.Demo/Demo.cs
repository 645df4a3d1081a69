using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Commands;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Projections;
using Platform.Runtime.Sagas;
using Shop.Inventory;
using Shop.Payments;

namespace Shop.Orders.Demo;

/// <summary>What a run ended with: the exit code, the summary (when it settled) and, when kept, where its database is.</summary>
sealed record DemoResult(int ExitCode, Summary? Summary, string? KeptConnectionString);

/// <summary>
/// The Orders example on the hosted runtime: AddPlatform with the generated OrdersDomain (aggregate,
/// projections, the OrderFulfilment saga, the shipping reaction) on the chosen store and transport,
/// the hand-written payment and inventory services as consumers the saga's commands are routed to,
/// a tenth of the orders stored by an older build at OrderPlaced v1, and some orders cancelled by
/// their customers. Everything the summary prints is read back from the database.
/// </summary>
static class Demo
{
    /// <summary>Runs the demo.</summary>
    /// <param name="options">What to run on and how many orders.</param>
    /// <param name="output">Progress and the summary.</param>
    /// <param name="error">The one-line error of a run that did not settle.</param>
    /// <param name="configure">Adjusts the runtime after the demo configured it (tests: Kafka on a mock cluster).</param>
    public static async Task<DemoResult> RunAsync(DemoOptions options, TextWriter output, TextWriter error, Action<PlatformOptions>? configure = null)
    {
        await using var database = await DemoDatabase.CreateAsync(options);
        database.Keep = options.KeepDatabase;
        var (exitCode, summary) = await RunAsync(options, database, output, error, configure);
        if (options.KeepDatabase)
            output.WriteLine($"Database kept: {database.ConnectionString}");
        return new DemoResult(exitCode, summary, options.KeepDatabase ? database.ConnectionString : null);
    }

    static async Task<(int, Summary?)> RunAsync(DemoOptions options, DemoDatabase database, TextWriter output, TextWriter error, Action<PlatformOptions>? configure)
    {
        var orders = options.Orders;
        var connectionString = database.ConnectionString;
        output.WriteLine($"Orders demo: {orders:N0} orders on the hosted runtime ({database.Description}, {options.TransportName})");
        output.WriteLine($"  services fail {options.PaymentFailures:P0} of payments, {options.InventoryFailures:P0} of reservations, " +
                         $"{options.RefundFailures:P0} of refunds; customers cancel {options.Cancellations:P0} of orders (seed {options.Seed})");
        var watch = Stopwatch.StartNew();

        // 1. An older build, which knew OrderPlaced only at v1, placed and confirmed the first tenth
        //    before this one started. Confirmed then, not by this build's loop below: their sagas start
        //    as soon as the runtime does, and a saga that completed before its order was confirmed had
        //    its ShipOrder refused (a CI run under load saw exactly that).
        var legacyOrders = orders / 10;
        await using (var legacy = new ServiceCollection()
                         .AddSingleton<EventTypeDescriptor>(new LegacyOrderPlacedV1())
                         .AddSingleton<EventTypeDescriptor>(OrderConfirmedEventType.Instance)
                         .AddEventStore(o => _ = database.Provider == StoreProvider.Postgres ? o.UsePostgres(connectionString) : o.UseSqlite(connectionString))
                         .BuildServiceProvider())
        {
            var store = legacy.GetRequiredService<SqlEventStore>();
            await store.MigrateAsync();
            for (var i = 0; i < legacyOrders; i++)
            {
                var legacyPlaced = new OrderPlacedV1(Customer(i), Items(i), Total(Items(i)), $"{i} Legacy Street", Currency: null);
                await store.AppendAsync(OrderId(i).ToString("D"), Order.AggregateTypeName, ExpectedVersion.NoStream,
                    [EventData.Create(legacyPlaced), EventData.Create(new OrderConfirmed())]);
            }
        }
        output.WriteLine($"  {legacyOrders:N0} orders stored by the previous build (OrderPlaced v1: no currency, no shipping method)");

        // 2. The current build, hosted by the runtime.
        var plan = new FailurePlan(options.Seed, options.PaymentFailures, options.InventoryFailures, options.RefundFailures, options.Cancellations);
        var ledger = new ServiceLedger(plan);
        var logs = new WarningCounter();
        PlatformOptions? platform = null;
        using var host = new HostBuilder()
            .ConfigureLogging(logging => logging.AddProvider(logs))
            .ConfigureServices(services =>
            {
                services.AddSingleton(ledger);
                services.AddPlatform(cfg =>
                {
                    Configure(cfg, options, database);
                    configure?.Invoke(cfg);
                    platform = cfg;
                });
            })
            .Build();
        try
        {
            // A broker that is not there would keep the bus retrying for minutes.
            using var starting = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StartAsync(starting.Token);
        }
        catch (OperationCanceledException)
        {
            error.WriteLine($"error: the runtime did not start within 30 s on {options.Describe()}; " +
                            $"{(logs.First is null ? "" : "the first problem logged: " + logs.First.ReplaceLineEndings(" ") + "; ")}" +
                            "check --rabbitmq or --kafka (or PLATFORM_RABBITMQ) and that the broker runs.");
            return (1, null);
        }
        var sagas = new SagaOperations(platform!.Store.Provider, platform.Store.ConnectionString);
        var engine = host.Services.GetRequiredService<ProjectionEngine>();
        var events = host.Services.GetRequiredService<IEventStore>();
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var progress = new Progress(orders, output);
        var cancellations = new Cancellations();

        // 3. Orders through the command dispatcher: placed (the saga starts from OrderPlaced) and confirmed
        //    (so the reaction's ShipOrder passes the aggregate's guard once the shipment is arranged);
        //    the customers the plan picks then cancel, which the saga answers by compensating.
        var placed = 0;
        var reporting = progress.RunAsync(() => placed, sagas);
        await Parallel.ForEachAsync(Enumerable.Range(0, orders), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, cancel) =>
        {
            if (i >= legacyOrders)
            {
                await dispatcher.DispatchAsync(new PlaceOrder(OrderId(i), Customer(i), Items(i), $"{i} Main Street",
                    i % 3 == 0 ? "USD" : "KRW", i % 4 == 0 ? "EXPRESS" : "STANDARD"), cancellationToken: cancel);
                await dispatcher.DispatchAsync(new ConfirmOrder(OrderId(i)), cancellationToken: cancel);
            }
            ledger.Confirmed(OrderId(i));
            Interlocked.Increment(ref placed);
            if (plan.Cancels(OrderId(i)))
                await cancellations.CancelAsync(dispatcher, OrderId(i), cancel);
        });

        // 4. Wait, bounded, until every saga has ended, every completed saga's order has been shipped by
        //    the reaction (or cancelled by its customer first), and nothing moves any more: the
        //    projections at the store's head, and the head unchanged since the last look.
        var settled = await WaitAsync(options.Timeout - watch.Elapsed, async () =>
        {
            var ended = Summary.Ended(await sagas.CountByStateAsync());
            if (ended < orders)
                return (false, $"{ended:N0} of {orders:N0} sagas ended");
            var lagging = (await engine.GetStatusAsync()).Where(s => s.LagPositions > 0).Select(s => $"{s.Name} {s.LagPositions:N0} behind").ToList();
            if (lagging.Count > 0)
                return (false, "projections " + string.Join(", ", lagging));
            var unshipped = await Summary.CompletedButNotShippedAsync(database);
            return unshipped > 0 ? (false, $"{unshipped:N0} completed orders waiting for the reaction's ShipOrder") : (true, "");
        }, events);
        await progress.StopAsync(reporting);
        var seconds = watch.Elapsed.TotalSeconds;
        if (settled is not null)
        {
            error.WriteLine($"error: not done after {options.Timeout.TotalSeconds:0} s: {settled}; " +
                            $"{logs.Count} warnings or errors logged{(logs.First is null ? "" : ", the first: " + logs.First)}. " +
                            "Try fewer orders or a longer --timeout.");
            await host.StopAsync();
            return (1, null);
        }

        // 5. The summary, from the database: the OrderSummary read model, the saga table, the projection
        //    engine's checkpoints and the store's head.
        var summary = await Summary.ReadAsync(database, sagas, engine, events, cancellations);
        await host.StopAsync();
        summary.Print(output, orders, legacyOrders, seconds, ledger, logs, options);
        return (0, summary);
    }

    /// <summary>The runtime: store, transport with names of the run's own, the domain, sagas and the services' routes.</summary>
    static void Configure(PlatformOptions cfg, DemoOptions options, DemoDatabase database)
    {
        _ = database.Provider == StoreProvider.Postgres ? cfg.UsePostgres(database.ConnectionString) : cfg.UseSqlite(database.ConnectionString);
        // Queues (and Kafka consumer groups) of the run's own, removed with it: a broker shared by
        // several runs keeps no leftovers that a later run would consume.
        cfg.Transport.QueuePrefix = "orders-demo-" + options.RunId;
        cfg.Transport.AutoDeleteQueues = true;
        if (options.Transport == TransportKind.RabbitMq)
            cfg.UseRabbitMq(new Uri(options.RabbitMq!));
        if (options.Transport == TransportKind.Kafka)
        {
            cfg.UseKafka(options.Kafka!);
            // Topics of the run's own too (consumers start from the earliest offset, so an earlier
            // run's events on a shared topic would reach this run's saga); one replica suits a local broker.
            cfg.Transport.Kafka.TopicFormat = $"orders-demo-{options.RunId}-events.{{aggregate}}";
            cfg.Transport.Kafka.ReplicationFactor = 1;
        }
        cfg.AddDomain(typeof(OrdersDomain));
        cfg.Sagas.Enabled = true;
        cfg.Sagas.PollInterval = TimeSpan.FromMilliseconds(50);
        cfg.AddMessageConsumer<PaymentService>().AddMessageConsumer<InventoryService>();
        var payments = QueueAddress(cfg, cfg.EventQueueName(typeof(PaymentService)));
        var inventory = QueueAddress(cfg, cfg.EventQueueName(typeof(InventoryService)));
        cfg.Sagas.Route<ChargePayment>(payments).Route<RefundPayment>(payments)
            .Route<ReserveInventory>(inventory).Route<ReleaseInventory>(inventory).Route<ArrangeShipment>(inventory);
    }

    // On RabbitMQ a sender declares the queue it sends to, with the receive endpoint's flags or the
    // broker refuses it (as PlatformOptions.CommandAddress does for the command queue).
    static Uri QueueAddress(PlatformOptions cfg, string queue) => new("queue:" + queue +
        (cfg.Transport.Kind == TransportKind.RabbitMq && cfg.Transport.AutoDeleteQueues ? "?durable=false&autodelete=true" : ""));

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

    internal static Guid OrderId(int i) => new(i, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]);

    static string Customer(int i) => $"customer-{i % 97:D3}";

    static OrderItem[] Items(int i) => Enumerable.Range(0, 1 + i % 3).Select(k => new OrderItem($"sku-{(i + k) % 50:D2}", 1 + k, 9.99m + k)).ToArray();

    static decimal Total(OrderItem[] items) => items.Sum(x => x.Price * x.Quantity);
}

/// <summary>The customers' cancellations: accepted, or refused by the order (already shipped or cancelled).</summary>
sealed class Cancellations
{
    public int Asked, Accepted, Refused;

    public async Task CancelAsync(ICommandDispatcher dispatcher, Guid orderId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Asked);
        try
        {
            await dispatcher.DispatchAsync(new CancelOrder(orderId, "customer changed their mind"), cancellationToken: cancellationToken);
            Interlocked.Increment(ref Accepted);
        }
        catch (CommandRejectedException)
        {
            Interlocked.Increment(ref Refused);
        }
    }
}
