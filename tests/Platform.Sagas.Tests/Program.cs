using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Runtime.Configuration;
using Shop.Inventory;
using Shop.Orders;
using Shop.Payments;

namespace Platform.Sagas.Tests;

/// <summary>
/// <c>dotnet Platform.Sagas.Tests.dll crash-host &lt;sqlite|postgres&gt; &lt;connection&gt; &lt;amqp uri&gt; &lt;queue prefix&gt;</c>:
/// a runtime process (AddPlatform with the Orders domain on RabbitMQ, durable queues) for
/// <see cref="CrashTests"/> to kill with SIGKILL and start again. Prints <c>ready</c> once the bus is up.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["crash-host", var store, var connection, var rabbit, var prefix])
        {
            await Console.Error.WriteLineAsync("usage: crash-host <sqlite|postgres> <connection> <amqp uri> <queue prefix>");
            return 2;
        }
        using var host = new HostBuilder().ConfigureServices(services => services.AddPlatform(cfg =>
        {
            _ = store == "postgres" ? cfg.UsePostgres(connection) : cfg.UseSqlite(connection);
            cfg.UseRabbitMq(new Uri(rabbit));
            Configure(cfg, prefix);
        })).Build();
        await host.StartAsync();
        Console.WriteLine("ready");
        await host.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>The runtime's options in the crash test: durable queues (a killed process must not take its queues with it).</summary>
    public static void Configure(PlatformOptions cfg, string prefix)
    {
        cfg.Transport.QueuePrefix = prefix;
        cfg.Transport.AutoDeleteQueues = false;
        cfg.Sagas.PollInterval = TimeSpan.FromMilliseconds(100);
        cfg.Sagas.LeftoverDelay = TimeSpan.FromSeconds(1);
        cfg.Retries.MinInterval = TimeSpan.FromMilliseconds(50);
        cfg.AddDomain(typeof(OrdersDomain));
        SagaHost.LongTimeouts(cfg);
        var payments = new Uri("queue:" + prefix + "-payments");
        var inventory = new Uri("queue:" + prefix + "-inventory");
        cfg.Sagas.Route<ChargePayment>(payments).Route<RefundPayment>(payments)
            .Route<ReserveInventory>(inventory).Route<ReleaseInventory>(inventory).Route<ArrangeShipment>(inventory);
    }
}
