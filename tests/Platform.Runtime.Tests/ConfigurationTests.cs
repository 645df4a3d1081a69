using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
