using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Sagas;
using Platform.Testing;
using Shop.Orders;
using Xunit;
using Xunit.Abstractions;

namespace Platform.Sagas.Tests;

/// <summary>The runtime process is killed with SIGKILL in the middle of 500 sagas and started again.</summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData(Store.Postgres)]
    [InlineData(Store.Sqlite)]
    public async Task a_runtime_killed_mid_run_and_restarted_ends_every_saga_with_no_side_effect_twice(Store store)
    {
        var rabbit = RealServices.RabbitMq;
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        var prefix = "crash-" + Guid.NewGuid().ToString("N")[..10];
        var orders = Enumerable.Range(0, 500).Select(n => (Id: Guid.NewGuid(), N: n)).ToArray();
        var noStock = orders.Where(o => o.N % 5 == 0).Select(o => o.Id).ToHashSet();
        // The last orders' shipments wait until the runtime was killed, so their sagas are still
        // running then however fast the others go (once, with the test process starved of CPU while
        // the runtime ran, every saga had ended by the time the kill came).
        var held = orders.Where(o => o.N >= 490 && !noStock.Contains(o.Id)).Select(o => o.Id).ToHashSet();
        var ledger = new ServiceLedger { NoStock = noStock.Contains, HoldShipment = held.Contains };
        var operations = new SagaOperations(database.Provider(), database.ConnectionString);

        // The payment and inventory services live in this process, on a bus of their own.
        var services = new ServiceCollection().AddSingleton(ledger);
        services.AddMassTransit(bus =>
        {
            bus.AddConsumer<PaymentService>();
            bus.AddConsumer<InventoryService>();
            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit);
                cfg.MessageTopology.SetEntityNameFormatter(new PrefixEntityNameFormatter(cfg.MessageTopology.EntityNameFormatter, prefix + "."));
                cfg.ReceiveEndpoint(prefix + "-payments", e => e.ConfigureConsumer<PaymentService>(context));
                cfg.ReceiveEndpoint(prefix + "-inventory", e => e.ConfigureConsumer<InventoryService>(context));
            });
        });
        await using var provider = services.BuildServiceProvider();
        var serviceBus = provider.GetRequiredService<IBusControl>();
        await serviceBus.StartAsync();
        Process? runtime = null;
        try
        {
            runtime = await StartRuntimeAsync(store, database.ConnectionString, rabbit, prefix);
            var commands = await serviceBus.GetSendEndpoint(new Uri("queue:" + prefix + "-commands"));
            foreach (var (id, n) in orders)
                await commands.Send(new PlaceOrder(id, "customer-" + n, [new OrderItem("sku-" + n, 1, 10m + n)], n + " Main Street", "EUR", "standard"));

            await Eventually.HoldsAsync(async () => await EndedAsync(operations) >= 120, "a quarter of the sagas to end", TimeSpan.FromSeconds(120));
            runtime.Kill(entireProcessTree: true); // SIGKILL: no shutdown, no flush
            await runtime.WaitForExitAsync();
            var endedAtKill = await EndedAsync(operations);
            output.WriteLine($"{store}: killed the runtime with {endedAtKill} of {orders.Length} sagas ended");
            Assert.True(endedAtKill <= orders.Length - held.Count, $"{endedAtKill} sagas had ended, held ones among them");
            ledger.ReleaseShipments();

            runtime = await StartRuntimeAsync(store, database.ConnectionString, rabbit, prefix);
            await Eventually.HoldsAsync(async () => await EndedAsync(operations) == orders.Length, "every saga to end after the restart",
                TimeSpan.FromSeconds(180), async () => string.Join(", ", (await operations.CountByStateAsync()).Select(c => c.Key + "=" + c.Value)));

            var byId = (await operations.ListAsync()).ToDictionary(r => r.CorrelationId);
            foreach (var (id, _) in orders)
            {
                var compensated = noStock.Contains(id);
                Assert.Equal(compensated ? "Compensated" : "Completed", byId[id].CurrentState);
                Assert.Equal(1, ledger.Charges.GetValueOrDefault(id));
                Assert.Equal(compensated ? 1 : 0, ledger.Refunds.GetValueOrDefault(id));
                Assert.Equal(compensated ? 0 : 1, ledger.Reservations.GetValueOrDefault(id));
                Assert.Equal(compensated ? 0 : 1, ledger.Shipments.GetValueOrDefault(id));
            }
            output.WriteLine($"{store}: {ledger.DuplicateCommands} commands delivered again after the crash were answered without a second effect");
        }
        finally
        {
            ledger.ReleaseShipments(); // the service bus stops only when its consumers are done
            if (runtime is { HasExited: false })
            {
                runtime.Kill(entireProcessTree: true);
                await runtime.WaitForExitAsync();
            }
            await serviceBus.StopAsync();
            await DeleteQueuesAsync(rabbit, prefix);
        }
    }

    static async Task<long> EndedAsync(SagaOperations operations)
    {
        var counts = await operations.CountByStateAsync();
        return counts.GetValueOrDefault("Completed") + counts.GetValueOrDefault("Compensated");
    }

    static async Task<Process> StartRuntimeAsync(Store store, string connectionString, Uri rabbit, string prefix)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { typeof(CrashTests).Assembly.Location, "crash-host", store == Store.Postgres ? "postgres" : "sqlite",
                     connectionString, rabbit.ToString(), prefix })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("the runtime process did not start");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, line) => { if (line.Data == "ready") ready.TrySetResult(); };
        process.ErrorDataReceived += (_, line) => { lock (errors) errors.AppendLine(line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(60))) != ready.Task)
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("The runtime process did not become ready: " + errors);
        }
        return process;
    }

    static async Task DeleteQueuesAsync(Uri rabbit, string prefix)
    {
        // The queues are durable on purpose (they must outlive the killed process); remove them now.
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = rabbit };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in new[] { "commands", "saga-orderfulfilment", "reaction-shiporderwhenshipmentarranged", "payments", "inventory" })
        {
            try
            {
                await channel.QueueDeleteAsync(prefix + "-" + queue, ifUnused: false, ifEmpty: false);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
            }
        }
    }
}
