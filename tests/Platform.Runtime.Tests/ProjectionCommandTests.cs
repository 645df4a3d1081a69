using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Runtime.Commands;
using Platform.Runtime.Projections;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>platform status</c> and <c>platform projections rebuild</c> against the store of a running runtime.</summary>
public sealed class ProjectionCommandTests
{
    /// <summary>The options that point a command at <paramref name="host"/>'s store and its built domain assembly.</summary>
    internal static string[] StoreArguments(RuntimeHost host) =>
    [
        "--store", host.Options.Store.Provider.ToString().ToLowerInvariant(), "--connection", host.Options.Store.ConnectionString,
        "--domain", typeof(OrdersDomain).Assembly.Location,
    ];

    internal static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var root = new RootCommand { ProjectionCommands.Status(), ProjectionCommands.Projections() };
        var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }

    [SkippableFact]
    public async Task status_shows_what_waits_for_the_outbox_relay()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory, configure: cfg => cfg.Relay.Enabled = false);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        for (var n = 0; n < 3; n++)
            await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), n));

        var (code, output) = await RunAsync(["status", .. StoreArguments(host)]);
        Assert.Equal(0, code);
        Assert.Matches(@"relay: published up to 0 of 3, 3 event\(s\) waiting, the oldest stored \d+\.\d s ago", output);
        await host.EventStore.SaveCheckpointAsync("outbox", 3);
        (code, output) = await RunAsync(["status", "--json", .. StoreArguments(host)]);
        Assert.Equal(0, code);
        using var status = JsonDocument.Parse(output);
        var relay = status.RootElement.GetProperty("relay");
        Assert.Equal((3L, 3L, 0L), (relay.GetProperty("position").GetInt64(), relay.GetProperty("head").GetInt64(), relay.GetProperty("waiting").GetInt64()));
    }

    // Two rebuilds of one projection would share its shadow checkpoint and skip each other's events:
    // while one holds the projection's rebuild lock (here as a runtime rebuilding at start would),
    // the command refuses, and runs once it is released. On SQLite the lock is a file beside the
    // database, which the command opens from its own connection string as another process would.
    [SkippableTheory]
    [InlineData(Store.Postgres)]
    [InlineData(Store.Sqlite)]
    public async Task a_rebuild_while_another_rebuild_of_the_projection_runs_is_refused(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(Guid.NewGuid(), 1));
        var held = await ProjectionRebuilder.TryLockAsync(host.EventStore, host.Options.Store.Provider, "OrderSummary", CancellationToken.None);
        Assert.NotNull(held);
        await using (held)
        {
            Assert.Null(await ProjectionRebuilder.TryLockAsync(host.EventStore, host.Options.Store.Provider, "OrderSummary", CancellationToken.None));
            var (code, output) = await RunAsync(["projections", "rebuild", "OrderSummary", .. StoreArguments(host)]);
            Assert.Equal(1, code);
            Assert.Contains("error: Another rebuild of projection OrderSummary is running", output, StringComparison.Ordinal);
            await Assert.ThrowsAsync<ProjectionRebuildRunningException>(() => host.Services.GetRequiredService<ProjectionEngine>().RebuildAsync("OrderSummary"));
        }
        var (again, text) = await RunAsync(["projections", "rebuild", "OrderSummary", .. StoreArguments(host)]);
        Assert.True(again == 0, text);
    }

    [SkippableFact]
    public async Task status_and_rebuild_work_from_the_command_line_while_the_runtime_serves()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        for (var n = 0; n < 5; n++)
            await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), n));
        var head = await host.EventStore.GetHeadPositionAsync();
        var engine = host.Services.GetRequiredService<ProjectionEngine>();
        await Eventually.HoldsAsync(async () => (await engine.GetStatusAsync()).All(s => s.LagPositions == 0), "the projections to catch up");
        // The built service's assembly, as a newcomer passes it for examples/Orders.
        string[] store = ["--store", "sqlite", "--connection", host.Options.Store.ConnectionString, "--domain", typeof(OrdersDomain).Assembly.Location];

        var (code, output) = await RunAsync(["status", "--json", .. store]);
        Assert.Equal(0, code);
        using (var status = JsonDocument.Parse(output))
        {
            var summary = status.RootElement.GetProperty("projections").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "OrderSummary");
            Assert.Equal((head, head, 0L, "live"), (summary.GetProperty("position").GetInt64(), summary.GetProperty("head").GetInt64(),
                summary.GetProperty("lagPositions").GetInt64(), summary.GetProperty("state").GetString()));
            Assert.Equal(0, status.RootElement.GetProperty("consumerGroups").GetArrayLength()); // not on Kafka
            Assert.Equal(0, status.RootElement.GetProperty("deadLetters").GetArrayLength());
            Assert.True(summary.GetProperty("declarationMatches").GetBoolean());
        }

        // As if another build's rebuild had swapped its table in: status says so, and the command's
        // rebuild records this build's declaration again (the runtime goes on with it).
        await using (var db = host.EventStore.CreateDbContext())
            await Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.ExecuteSqlRawAsync(db.Database,
                $"UPDATE {ProjectionSchema.DefinitionsTable} SET fingerprint = 'another-build' WHERE projection = 'OrderSummary'");
        (code, output) = await RunAsync(["status", .. store]);
        Assert.Contains("(table built by another declaration: this build's runtime rebuilds it at start)", output, StringComparison.Ordinal);
        var before = await Orders.ReadSummariesAsync(host);
        (code, output) = await RunAsync(["projections", "rebuild", "OrderSummary", "--batch-size", "2", .. store]);
        Assert.Equal(0, code);
        Assert.Contains($"swapped in at position {head}", output, StringComparison.Ordinal);
        Assert.Contains("events/s, ETA", output, StringComparison.Ordinal);
        (_, output) = await RunAsync(["status", "--json", .. store]);
        using (var status = JsonDocument.Parse(output))
            Assert.True(status.RootElement.GetProperty("projections").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "OrderSummary")
                .GetProperty("declarationMatches").GetBoolean());
        Assert.Equal(before, await Orders.ReadSummariesAsync(host));

        // The live projection goes on with the swapped-in table.
        var id = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(id, 9));
        await Eventually.HoldsAsync(async () => (await Orders.ReadSummariesAsync(host)).Any(r => r.OrderId == id), "the new order in the rebuilt table");
        (code, output) = await RunAsync(["status", .. store]);
        Assert.Equal(0, code);
        Assert.Matches(@"OrderSummary\s+6\s+6\s+0\s+0\.0\s+live", output);
        Assert.Contains("dead letters: none", output, StringComparison.Ordinal);

        // A command that failed for good: its endpoint's letter is counted.
        var failedAt = new DateTimeOffset(2026, 11, 27, 9, 30, 0, TimeSpan.Zero);
        await host.Services.GetRequiredService<DeadLetters.DeadLetterStore>().AddAsync(new(Guid.CreateVersion7(), "commands", host.Options.CommandQueueName,
            Guid.NewGuid().ToString("D"), typeof(ConfirmOrder).AssemblyQualifiedName!, null, null, null, null, "{}", "{}",
            typeof(InvalidOperationException).FullName!, "failed", "failed", 3, failedAt, DeadLetters.DeadLetterState.Dead, null));
        (code, output) = await RunAsync(["status", .. store]);
        Assert.Equal(0, code);
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(host.Options.CommandQueueName)}\s+1\s+0\s+2026-11-27 09:30:00Z", output);
        (code, output) = await RunAsync(["status", "--json", .. store]);
        using (var status = JsonDocument.Parse(output))
        {
            var letters = Assert.Single(status.RootElement.GetProperty("deadLetters").EnumerateArray());
            Assert.Equal((host.Options.CommandQueueName, 1L, 0L), (letters.GetProperty("endpoint").GetString(), letters.GetProperty("dead").GetInt64(),
                letters.GetProperty("replayRequested").GetInt64()));
        }

        (code, output) = await RunAsync(["projections", "rebuild", "Nothing", .. store]);
        Assert.Equal((1, "error: no projection 'Nothing' in the domain; pass one of: CustomerOrders, OrderSummary."),
            (code, output.Trim()));
        (code, output) = await RunAsync(["status", "--store", "sqlite", "--domain", typeof(OrdersDomain).AssemblyQualifiedName!]);
        Assert.Equal(1, code);
        Assert.StartsWith("error: no store connection;", output, StringComparison.Ordinal);
    }
}
