using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Runtime.Commands;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// <c>platform stream command</c>: an operator's command, run on its aggregate in the store as the
/// runtime runs one, recorded with who ran it; the running runtime publishes its events.
/// </summary>
public sealed class StreamCommandTests
{
    static Task<(int ExitCode, string Output)> RunAsync(RuntimeHost host, params string[] args) =>
        Cli.RunAsync([EventCommands.Stream()], ["stream", "command", .. args, .. ProjectionCommandTests.StoreArguments(host)]);

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task an_operators_command_runs_on_its_aggregate_by_the_rules_once_and_reaches_the_read_model(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var order = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(order, 1));

        // Looked at version 1; someone confirms meanwhile: refused, nothing stored.
        await dispatcher.DispatchAsync(new ConfirmOrder(order));
        var ship = JsonSerializer.Serialize(new { orderId = order, trackingNumber = "T-1" });
        var (code, output) = await RunAsync(host, "ShipOrder", ship, "--expected-version", "1");
        Assert.Equal(1, code);
        Assert.Contains($"'{order:D}' is at version 2, not 1", output);
        Assert.Contains("nothing was stored", output);

        // Run on the version looked at, by a named operator, with an id: accepted, then answered again.
        var id = Guid.CreateVersion7();
        (code, output) = await RunAsync(host, "Shop.Orders.ShipOrder", ship, "--expected-version", "2", "--user", "ops:ann", "--id", id.ToString());
        Assert.True(code == 0, output);
        Assert.Contains($"ShipOrder accepted by Order '{order:D}': now at version 3", output);
        (code, output) = await RunAsync(host, "ShipOrder", ship, "--expected-version", "2", "--id", id.ToString(), "--json");
        Assert.True(code == 0, output);
        using (var answer = JsonDocument.Parse(output))
        {
            Assert.True(answer.RootElement.GetProperty("duplicate").GetBoolean());
            Assert.Equal(3, answer.RootElement.GetProperty("version").GetInt64());
        }
        var events = await host.EventStore.ReadStreamAsync(order.ToString("D")).ToListAsync();
        Assert.Equal([OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName, OrderShipped.EventTypeName], events.Select(e => e.TypeName));
        Assert.Equal("ops:ann", events[2].Metadata.UserId);
        Assert.Equal(id.ToString("D"), events[2].CausationId);

        // The runtime publishes it and projects it like any command's events.
        await host.Services.GetRequiredService<Projections.ProjectionConsistency>().WaitForAsync("OrderSummary", events[2].GlobalPosition, TimeSpan.FromSeconds(30));
        Assert.Equal("Shipped", (await Orders.ReadSummariesAsync(host)).Single(s => s.OrderId == order).Status);

        // The aggregate's rules, the fields' constraints, and what is not a command: one error line, exit 1.
        (code, output) = await RunAsync(host, "CancelOrder", JsonSerializer.Serialize(new { orderId = order, reason = "late" }));
        Assert.Equal((1, true), (code, output.Contains("status must not be one of [Shipped, Cancelled]")));
        (code, output) = await RunAsync(host, "CancelOrder", JsonSerializer.Serialize(new { orderId = order, reason = "" }));
        Assert.Equal((1, true), (code, output.Contains("CancelOrder is invalid")));
        (code, output) = await RunAsync(host, "ShipOrder", "{ \"orderId\": 42 }");
        Assert.Equal((1, true), (code, output.Contains("the JSON is not a ShipOrder")));
        (code, output) = await RunAsync(host, "ShipParcel", ship);
        Assert.Equal((1, true), (code, output.Contains("no aggregate of the domain handles a command named 'ShipParcel'; its commands: ")));
        Assert.Equal(3, await host.EventStore.GetStreamVersionAsync(order.ToString("D")));
    }
}
