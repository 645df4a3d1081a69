using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Platform.Events;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public void the_options_bind_from_configuration_and_load_the_named_generated_domain()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Platform:Store:Provider"] = "postgres",
            ["Platform:Store:ConnectionString"] = "Host=db;Username=app",
            ["Platform:Transport:Kind"] = "rabbitmq",
            ["Platform:Transport:RabbitMqUri"] = "amqp://guest:guest@broker:5672/",
            ["Platform:Transport:PrefetchCount"] = "32",
            ["Platform:Commands:MaxConcurrencyRetries"] = "7",
            ["Platform:Domains:0"] = typeof(OrdersDomain).AssemblyQualifiedName,
        }).Build();

        var services = new ServiceCollection().AddLogging();
        services.AddPlatform(configuration.GetSection("Platform"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<PlatformOptions>();
        Assert.Equal(StoreProvider.Postgres, options.Store.Provider);
        Assert.Equal("Host=db;Username=app", options.Store.ConnectionString);
        Assert.Equal(TransportKind.RabbitMq, options.Transport.Kind);
        Assert.Equal("amqp://guest:guest@broker:5672/", options.Transport.RabbitMqUri);
        Assert.Equal(32, options.Transport.PrefetchCount);
        Assert.Equal(7, options.Commands.MaxConcurrencyRetries);

        var catalog = provider.GetRequiredService<DomainCatalog>();
        var order = Assert.Single(catalog.Aggregates);
        Assert.Equal(Order.AggregateTypeName, order.AggregateType);
        Assert.Equal([typeof(CancelOrder), typeof(ConfirmOrder), typeof(PlaceOrder), typeof(ShipOrder)], order.CommandTypes);
        Assert.Equal(["CustomerOrders", "OrderSummary"], catalog.Projections.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.True(provider.GetRequiredService<EventTypeRegistry>().TryGet(OrderPlaced.EventTypeName, out _));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("false", false)]
    [InlineData("true", true)]
    public void masstransit_reports_usage_to_masstransit_io_only_when_configured_to(string? setting, bool reports)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Platform:Store:ConnectionString"] = "Data Source=usage.db",
            ["Platform:Telemetry:MassTransitUsageReports"] = setting,
            ["Platform:Domains:0"] = typeof(OrdersDomain).AssemblyQualifiedName,
        }).Build();

        var services = new ServiceCollection().AddLogging();
        services.AddPlatform(configuration.GetSection("Platform"));
        using var provider = services.BuildServiceProvider();

        Assert.Equal(reports, provider.GetRequiredService<IOptions<MassTransit.UsageTelemetryOptions>>().Value.Enabled);
    }

    [Fact]
    public void the_relay_batch_is_one_kafka_transaction_of_5000_events_unless_configured()
    {
        var options = new PlatformOptions();
        Assert.Equal(500, options.Relay.BatchSizeOn(TransportKind.RabbitMq));
        Assert.Equal(500, options.Relay.BatchSizeOn(TransportKind.InMemory));
        Assert.Equal(5_000, options.Relay.BatchSizeOn(TransportKind.Kafka));

        var configured = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Platform:Store:ConnectionString"] = "Data Source=relay.db",
            ["Platform:Transport:Kind"] = "kafka",
            ["Platform:Transport:Kafka:BootstrapServers"] = "kafka-1:9092",
            ["Platform:Relay:BatchSize"] = "800",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddPlatform(configured.GetSection("Platform"));
        using var provider = services.BuildServiceProvider();
        Assert.Equal(800, provider.GetRequiredService<PlatformOptions>().Relay.BatchSizeOn(TransportKind.Kafka));

        var zero = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Platform:Store:ConnectionString"] = "Data Source=relay.db", ["Platform:Relay:BatchSize"] = "0",
        }).Build();
        var error = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new ServiceCollection().AddLogging().AddPlatform(zero.GetSection("Platform")));
        Assert.Contains("Platform:Relay:BatchSize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void the_generated_registrations_and_the_runtime_can_both_add_the_same_descriptors()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddOrdersDomain();
        services.AddPlatform(cfg => cfg.UseSqlite("Data Source=unused.db").AddDomain(typeof(OrdersDomain)));
        using var provider = services.BuildServiceProvider();

        var registry = provider.GetRequiredService<EventTypeRegistry>();
        Assert.Equal(OrdersDomain.EventTypes.Count, registry.Descriptors.Count());
    }

    [Fact]
    public void a_domain_name_that_is_not_a_type_is_reported_with_the_expected_form()
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<InvalidOperationException>(() =>
            services.AddPlatform(cfg => { cfg.UseSqlite("Data Source=unused.db"); cfg.Domains.Add("Shop.Nothing"); }));
        Assert.Contains("assembly-qualified name", error.Message);
    }
}
