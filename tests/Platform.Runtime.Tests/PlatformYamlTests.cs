using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;
using Platform.Runtime.Projections;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>platform.yaml</c>: the shared runtime's configuration file, and <c>platform run</c>, which hosts it.</summary>
public sealed class PlatformYamlTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("platform-yaml-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    string Write(string yaml)
    {
        var path = Path.Combine(_folder, "platform.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void every_section_binds_into_the_options_and_a_relative_service_dll_is_found_next_to_the_file()
    {
        // The service's built assembly, copied where the file names it relative to itself.
        var service = Path.Combine(_folder, "services", "Shop.Orders.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(service)!);
        File.Copy(typeof(OrdersDomain).Assembly.Location, service);
        var path = Write("""
            # the shared runtime
            store:
              provider: postgres
              connectionString: Host=db;Database=shop;Username=runtime
            transport:
              kind: RabbitMq
              rabbitMqUri: amqp://guest:guest@rabbit:5672/
              queuePrefix: shop
              prefetchCount: 32
            retries:
              immediateRetries: 1
              maxInterval: 00:01:00
            projections:
              enabled: false
            telemetry:
              serviceName: shop-runtime
              otlpEndpoint: http://collector:4318
              otlpProtocol: httpProtobuf
            sagas:
              prefetchCount: 8
              timeouts:
                OrderFulfilmentInventoryTimeout: 00:00:02
                OrderFulfilmentPaymentTimeout: 00:01:30
            domains:
              - services/Shop.Orders.dll
              - Shop.Orders.OrdersDomain, Shop.Orders
            """);
        var configuration = new ConfigurationBuilder().AddPlatformYaml(path).Build();
        Assert.Equal(Path.Combine(_folder, "services", "Shop.Orders.dll"), configuration["Platform:Domains:0"]);

        var services = new ServiceCollection().AddLogging();
        services.AddPlatform(configuration.GetSection("Platform"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<PlatformOptions>();
        Assert.Equal((StoreProvider.Postgres, "Host=db;Database=shop;Username=runtime"), (options.Store.Provider, options.Store.ConnectionString));
        Assert.Equal((TransportKind.RabbitMq, "shop", 32), (options.Transport.Kind, options.Transport.QueuePrefix, options.Transport.PrefetchCount));
        Assert.Equal((1, TimeSpan.FromMinutes(1)), (options.Retries.ImmediateRetries, options.Retries.MaxInterval));
        Assert.False(options.Projections.Enabled);
        Assert.Equal(8, options.Sagas.PrefetchCount);
        Assert.Equal(new Dictionary<string, TimeSpan>
        {
            ["OrderFulfilmentInventoryTimeout"] = TimeSpan.FromSeconds(2), ["OrderFulfilmentPaymentTimeout"] = TimeSpan.FromSeconds(90),
        }, options.Sagas.Timeouts);
        Assert.Equal(("shop-runtime", "http://collector:4318", OtlpProtocol.HttpProtobuf),
            (options.Telemetry.ServiceName, options.Telemetry.OtlpEndpoint, options.Telemetry.OtlpProtocol));
        // The dll path and the type name name the same generated domain class (loaded once).
        var catalog = provider.GetRequiredService<DomainCatalog>();
        Assert.Equal(["CustomerOrders", "OrderSummary"], catalog.Projections.Select(p => p.Name).Order());
    }

    [Theory]
    [InlineData("store:\n  provider: sqlite\ntransprot:\n  kind: inmemory\n", 3, 1, "unknown setting 'transprot'; known: store, transport,")]
    [InlineData("store:\n  provider: postgress\n", 2, 13, "'postgress' is not a valid value for store.provider; expected one of sqlite, postgres")]
    [InlineData("relay:\n  pollInterval: fast\n", 2, 17, "'fast' is not a valid value for relay.pollInterval; expected a duration such as 00:00:30")]
    [InlineData("transport:\n  prefetchCount: 1.5\n", 2, 18, "'1.5' is not a valid value for transport.prefetchCount; expected a whole number")]
    [InlineData("transport:\n  partitons: 4\n", 2, 3, "unknown setting 'partitons' under 'transport'; known: kind, rabbitMqUri, queuePrefix,")]
    [InlineData("store: postgres\n", 1, 8, "store expects a mapping of settings, not a single value")]
    [InlineData("domains: Shop.Orders.dll\n", 1, 10, "domains expects a list, not a single value")]
    [InlineData("store:\n  provider: sqlite\nstore:\n  provider: postgres\n", 3, 1, "'store' is set twice")]
    [InlineData("store:\n  provider: [sqlite\n", 3, 1, "not valid YAML")]
    [InlineData("sagas:\n  timeouts:\n    OrderFulfilmentInventoryTimeout: soon\n", 3, 38, "'soon' is not a valid value for sagas.timeouts.OrderFulfilmentInventoryTimeout; expected a duration")]
    [InlineData("sagas:\n  timeouts: 00:00:02\n", 2, 13, "sagas.timeouts expects a mapping of names")]
    [InlineData("- store\n", 1, 1, "expected a mapping of settings (store:, transport:, domains:, ...) at the top")]
    public void a_mistake_is_reported_with_file_line_and_column(string yaml, int line, int column, string message)
    {
        var path = Write(yaml);
        var error = Assert.Throws<PlatformConfigurationException>(() => new ConfigurationBuilder().AddPlatformYaml(path).Build());
        Assert.Equal((path, line, column), (error.File, (int)error.Line, (int)error.Column));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{path}({line},{column}): ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void a_missing_file_says_so_unless_it_is_optional()
    {
        var path = Path.Combine(_folder, "absent.yaml");
        var error = Assert.Throws<PlatformConfigurationException>(() => new ConfigurationBuilder().AddPlatformYaml(path).Build());
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.Empty(new ConfigurationBuilder().AddPlatformYaml(path, optional: true).Build().AsEnumerable());
    }

    [Fact]
    public async Task platform_run_hosts_the_runtime_from_platform_yaml_until_stopped()
    {
        var database = Path.Combine(_folder, "events.db");
        var path = Write($"""
            store:
              provider: sqlite
              connectionString: Data Source={database}
            transport:
              queuePrefix: run-test
            projections:
              pollInterval: 00:00:00.020
            domains:
              - {typeof(OrdersDomain).Assembly.Location}
            """);
        var output = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = Task.Run(() => RunCommand.RunAsync(path, TextWriter.Synchronized(output), TextWriter.Synchronized(output), stop.Token));

        // Another process's writes (here: a store of its own on the same file) reach the runtime's read model.
        await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(database) || run.IsCompleted), "the runtime to create its store");
        Assert.False(run.IsCompleted, output.ToString());
        await using (var store = new SqlEventStore(new EventStoreOptions().UseSqlite($"Data Source={database}"), OrdersDomain.CreateEventTypeRegistry()))
        {
            await store.MigrateAsync();
            var id = Guid.NewGuid();
            var placed = new OrderPlaced("customer-1", [new OrderItem("sku", 2, 5m)], 10m, "1 Main Street", "EUR", "STANDARD");
            await store.AppendAsync(id.ToString("D"), Order.Definition.AggregateType, ExpectedVersion.NoStream, [EventData.Create(placed)]);
            await Eventually.HoldsAsync(async () =>
            {
                await using var transaction = await store.BeginTransactionAsync();
                await using var command = transaction.Connection.CreateCommand();
                command.Transaction = transaction.Transaction;
                command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'order_summary'";
                if (Convert.ToInt64(await command.ExecuteScalarAsync()) == 0)
                    return false;
                command.CommandText = "SELECT count(*) FROM order_summary";
                return Convert.ToInt64(await command.ExecuteScalarAsync()) == 1;
            }, "the runtime's projection to write the order", state: () => Task.FromResult(output.ToString()));
        }
        await stop.CancelAsync();
        Assert.Equal(0, await run);
        Assert.Contains("platform run: store sqlite, transport inmemory, 1 aggregate(s), 2 projection(s)", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task platform_run_with_a_bad_file_exits_1_with_one_error_line()
    {
        var path = Write("store:\n  provider: sqlite\n  conectionString: x\n");
        var output = new StringWriter();
        Assert.Equal(1, await RunCommand.RunAsync(path, output, output, CancellationToken.None));
        Assert.Equal($"error: {path}(3,3): unknown setting 'conectionString' under 'store'; known: provider, connectionString, concurrentAppends, readReplica",
            output.ToString().Trim());

        path = Write("store:\n  provider: sqlite\n");
        output = new StringWriter();
        Assert.Equal(1, await RunCommand.RunAsync(path, output, output, CancellationToken.None));
        Assert.StartsWith("error: Platform:Store:ConnectionString is empty", output.ToString().Trim(), StringComparison.Ordinal);

        path = Write("store:\n  provider: sqlite\n  connectionString: Data Source=x.db\n  readReplica: Host=standby\n");
        output = new StringWriter();
        Assert.Equal(1, await RunCommand.RunAsync(path, output, output, CancellationToken.None));
        Assert.StartsWith("error: Platform:Store:ReadReplica is set, but the store is SQLite", output.ToString().Trim(), StringComparison.Ordinal);
    }
}
