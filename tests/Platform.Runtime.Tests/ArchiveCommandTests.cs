using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Runtime.Commands;
using Platform.Runtime.Projections;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>platform events archive</c>, <c>platform stream archive|restore</c>: the hot table shrinks, nothing a reader needs is lost.</summary>
public sealed class ArchiveCommandTests
{
    static Task<(int ExitCode, string Output)> RunAsync(RuntimeHost host, params string[] args) =>
        Cli.RunAsync([EventCommands.Events(), EventCommands.Stream()], [.. args, .. Cli.Store(host)]);

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task archived_streams_still_load_and_a_rebuild_still_reads_them_and_restore_brings_them_back(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        await StoreVerifyTests.PlaceAndConfirmAsync(host, 4);
        var before = await Orders.ReadSummariesAsync(host);
        var streams = before.Select(r => r.OrderId).ToArray();

        var (code, output) = await RunAsync(host, "events", "archive", "--idle-since", DateTimeOffset.UtcNow.AddDays(1).ToString("O", CultureInfo.InvariantCulture));
        Assert.Equal(1, code);
        Assert.Contains("is in the future", output, StringComparison.Ordinal);
        (code, output) = await RunAsync(host, "events", "archive", "--idle-since", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            "--streams-per-transaction", "3");
        Assert.True(code == 0, output);
        Assert.Contains("Archived 4 stream(s), 8 event(s)", output, StringComparison.Ordinal);
        Assert.Empty(await Orders.ReadAllEventsAsync(host.EventStore));
        (code, output) = await Cli.RunAsync([EventCommands.Events()], ["events", "tail", "--archived", .. ProjectionCommandTests.StoreArguments(host)]);
        Assert.True(code == 0, output);
        Assert.Equal(8, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // A rebuild replays the archive too: the read model comes back whole.
        (code, output) = await ProjectionCommandTests.RunAsync(["projections", "rebuild", OrderSummaryProjection.ProjectionName, .. ProjectionCommandTests.StoreArguments(host)]);
        Assert.True(code == 0, output);
        Assert.Equal(before, await Orders.ReadSummariesAsync(host));

        // An archived aggregate still takes commands: its state loads from the archive.
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var shipped = await dispatcher.DispatchAsync(new ShipOrder(streams[0], "track-1"));
        Assert.Equal(3, shipped.Version);
        Assert.Equal(ProjectionWait.Reached, await host.Services.GetRequiredService<ProjectionConsistency>()
            .WaitForAsync(OrderSummaryProjection.ProjectionName, shipped, TimeSpan.FromSeconds(30)));
        Assert.Equal("Shipped", (await Orders.ReadSummariesAsync(host)).Single(r => r.OrderId == streams[0]).Status);

        (code, output) = await RunAsync(host, "stream", "restore", streams[1].ToString("D"));
        Assert.True(code == 0, output);
        Assert.Contains("Restored 2 event(s)", output, StringComparison.Ordinal);
        (code, output) = await RunAsync(host, "stream", "restore", streams[1].ToString("D"));
        Assert.Equal(1, code);
        Assert.Contains("has no archived events", output, StringComparison.Ordinal);
        (code, output) = await RunAsync(host, "stream", "archive", streams[1].ToString("D"));
        Assert.True(code == 0, output);
        Assert.Contains("Archived 2 event(s)", output, StringComparison.Ordinal);

        (code, output) = await StoreVerifyTests.VerifyAsync(host);
        Assert.True(code == 0, output);
        Assert.Contains("1 event(s), 8 archived", output, StringComparison.Ordinal);
    }
}
