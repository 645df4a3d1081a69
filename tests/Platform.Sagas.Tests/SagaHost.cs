using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Kafka;
using Platform.Runtime.Sagas;
using Platform.Testing;
using Shop.Inventory;
using Shop.Orders;
using Shop.Payments;

namespace Platform.Sagas.Tests;

public enum Transport { InMemory, RabbitMq, Kafka }

static class TestDatabaseExtensions
{
    /// <summary>The runtime's name for the database kind.</summary>
    public static StoreProvider Provider(this TestDatabase database) =>
        database.Store == Store.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite;
}

/// <summary>
/// A started runtime loading the generated Orders domain (saga OrderFulfilment, reaction
/// ShipOrderWhenShipmentArranged), with the hand-written payment and inventory services on queues of
/// their own that the saga's commands are routed to (unless <c>services</c> is false: another host
/// runs them; the saga is left out with <c>cfg.Sagas.Enabled = false</c>).
/// </summary>
sealed class SagaHost : IAsyncDisposable
{
    readonly IHost _host;
    KafkaMockCluster? _kafka;

    SagaHost(IHost host, PlatformOptions options, ServiceLedger ledger, LogRecorder logs)
    {
        Logs = logs;
        _host = host;
        Options = options;
        Ledger = ledger;
    }

    public IServiceProvider Services => _host.Services;

    public PlatformOptions Options { get; }

    public ServiceLedger Ledger { get; }

    /// <summary>Warnings and errors the host logged.</summary>
    public LogRecorder Logs { get; }

    public ICommandDispatcher Commands => Services.GetRequiredService<ICommandDispatcher>();

    public SagaOperations Operations => _operations ??= new(Options.Store.Provider, Options.Store.ConnectionString);

    SagaOperations? _operations;

    public static async Task<SagaHost> StartAsync(TestDatabase database, Transport transport, ServiceLedger? ledger = null,
        Action<PlatformOptions>? configure = null, string? prefix = null, KafkaMockCluster? cluster = null, bool services = true)
    {
        var rabbit = transport == Transport.RabbitMq ? RealServices.RabbitMq : null;
        // Kafka: librdkafka's mock cluster, the host's own unless one is shared; the saga's events,
        // its commands and timeouts and the services' replies all travel through it.
        var ownCluster = transport == Transport.Kafka && cluster is null ? new KafkaMockCluster(brokers: 3) : null;
        var kafka = transport == Transport.Kafka ? cluster ?? ownCluster : null;
        ledger ??= new ServiceLedger();
        PlatformOptions? options = null;
        prefix ??= "sg-" + Guid.NewGuid().ToString("N")[..12];
        var logs = new LogRecorder();
        var host = new HostBuilder().ConfigureLogging(logging => logging.AddProvider(logs)).ConfigureServices(collection =>
        {
            collection.AddSingleton(ledger);
            collection.AddPlatform(cfg =>
            {
                _ = database.Store == Store.Postgres ? cfg.UsePostgres(database.ConnectionString) : cfg.UseSqlite(database.ConnectionString);
                if (rabbit is not null)
                    cfg.UseRabbitMq(rabbit);
                if (kafka is not null)
                {
                    cfg.UseKafka(kafka.BootstrapServers);
                    cfg.Transport.Kafka.CreateTopics = false;
                    cfg.Transport.Kafka.GroupProtocol = Confluent.Kafka.GroupProtocol.Consumer;
                }
                cfg.Transport.QueuePrefix = prefix;
                cfg.Transport.AutoDeleteQueues = true;
                cfg.Retries.ImmediateRetries = 2;
                cfg.Retries.ExponentialRetries = 2;
                cfg.Retries.MinInterval = TimeSpan.FromMilliseconds(50);
                cfg.Sagas.PollInterval = TimeSpan.FromMilliseconds(50);
                cfg.AddDomain(typeof(OrdersDomain));
                if (services)
                {
                    cfg.AddEventConsumer<PaymentService>();
                    cfg.AddEventConsumer<InventoryService>();
                }
                var payments = QueueAddress(cfg, cfg.EventQueueName(typeof(PaymentService)));
                var inventory = QueueAddress(cfg, cfg.EventQueueName(typeof(InventoryService)));
                cfg.Sagas.Route<ChargePayment>(payments).Route<RefundPayment>(payments)
                    .Route<ReserveInventory>(inventory).Route<ReleaseInventory>(inventory).Route<ArrangeShipment>(inventory);
                configure?.Invoke(cfg);
                options = cfg;
            });
        }).Build();
        try
        {
            if (kafka is not null)
                CreateTopics(kafka, host.Services);
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            ownCluster?.Dispose();
            throw;
        }
        return new SagaHost(host, options!, ledger, logs) { _kafka = ownCluster };
    }

    /// <summary>
    /// The mock has no CreateTopics (the runtime's CreateTopics is off): the host's event topic and
    /// the command and message topics its endpoints read are made here before it starts, as the
    /// runtime would make them, so its consumer groups match them from the start.
    /// </summary>
    static void CreateTopics(KafkaMockCluster kafka, IServiceProvider services)
    {
        var options = services.GetRequiredService<PlatformOptions>();
        kafka.TryCreateTopic(services.GetRequiredService<KafkaTopology>().TopicFor("Order"), partitions: 4, replicationFactor: 3);
        foreach (var topic in KafkaTopology.MessageTopicsRead(options))
            kafka.TryCreateTopic(topic, partitions: 4, replicationFactor: 3);
    }

    /// <summary>Step and saga timeouts of 30 minutes, for tests whose outcome must not depend on the machine's speed.</summary>
    public static void LongTimeouts(PlatformOptions cfg)
    {
        foreach (var timeout in new[] { "OrderFulfilmentPaymentTimeout", "OrderFulfilmentInventoryTimeout", "OrderFulfilmentShippingTimeout", "OrderFulfilmentTimeout" })
            cfg.Sagas.Timeouts[timeout] = TimeSpan.FromMinutes(30);
    }

    public static Uri QueueAddress(PlatformOptions options, string queue) => new("queue:" + queue +
        (options.Transport.Kind == TransportKind.RabbitMq && options.Transport.AutoDeleteQueues ? "?durable=false&autodelete=true" : ""));

    /// <summary>Places an order (and confirms it, so the reaction's ShipOrder is accepted); the saga starts from OrderPlaced.</summary>
    public async Task PlaceAsync(Guid orderId, int n)
    {
        Ledger.Placing(orderId); // this host's shipping service waits for the confirmation
        try
        {
            await Commands.DispatchAsync(new PlaceOrder(orderId, "customer-" + (n % 7),
                [new OrderItem("sku-" + n, 1 + n % 3, 9.5m + n)], n + " Main Street", "EUR", "standard"));
            await Commands.DispatchAsync(new ConfirmOrder(orderId));
        }
        finally
        {
            Ledger.Placed(orderId);
        }
    }

    public async Task<string?> StateOfAsync(Guid orderId) =>
        (await Operations.GetAsync(orderId)).SingleOrDefault()?.Instance.CurrentState;

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await _host.StopAsync(stop.Token);
        if (_host is IAsyncDisposable asyncHost)
            await asyncHost.DisposeAsync();
        else
            _host.Dispose();
        _kafka?.Dispose();
    }
}


/// <summary>Keeps every warning and error logged by a host.</summary>
sealed class LogRecorder : ILoggerProvider
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    sealed class Logger(LogRecorder recorder) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                recorder.Entries.Enqueue(logLevel + ": " + formatter(state, exception) +
                    (exception is null ? "" : " (" + exception.GetType().Name + ": " + exception.Message + ")"));
        }
    }
}
