using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.EventStore.Outbox;
using Platform.Runtime.Commands;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// <c>platform relay republish</c>: events the transport lost (a purged queue, a topic past its
/// retention) come again from the store, and consumers skip what they had.
/// </summary>
public sealed class RelayRepublishTests
{
    static Task<(int ExitCode, string Output)> RelayAsync(RuntimeHost host, params string[] args) =>
        Cli.RunAsync([RelayCommand.Create()], ["relay", "republish", .. args, .. Cli.Store(host)]);

    [SkippableTheory]
    [MemberData(nameof(StreamReplayTests.Transports), MemberType = typeof(StreamReplayTests))]
    public async Task events_the_transport_lost_come_again_after_a_republish_and_consumers_skip_what_they_had(Store store, Transport transport)
    {
        await using var host = await RuntimeBehaviour.StartAsync(store, transport);
        await Orders.ExecuteAsync(host.EventStore, OrderEventRecorder.CreateTableSql);
        var sink = host.Services.GetRequiredService<ObservationSink>();
        var relay = host.Services.GetRequiredService<OutboxRelay>();
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var kept = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        var lost = Enumerable.Range(0, 2).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in lost)
            sink.LostStreams[id.ToString("D")] = 0;

        // Kept orders placed, then the lost orders placed and confirmed, then the kept ones
        // confirmed: republishing from the first lost event sends three kept events again too.
        foreach (var (id, n) in kept.Select((id, n) => (id, n)))
            await dispatcher.DispatchAsync(Orders.Place(id, n));
        foreach (var (id, n) in lost.Select((id, n) => (id, n)))
        {
            await dispatcher.DispatchAsync(Orders.Place(id, 10 + n));
            await dispatcher.DispatchAsync(new ConfirmOrder(id));
        }
        foreach (var id in kept)
            await dispatcher.DispatchAsync(new ConfirmOrder(id));
        var events = await Orders.ReadAllEventsAsync(host.EventStore);
        Assert.Equal(10, events.Count);
        var firstLost = events.First(e => e.StreamId == lost[0].ToString("D"));
        await Eventually.HoldsAsync(() => Task.FromResult(sink.HandledInOrder().Count == 6 && sink.LostStreams.Values.Sum() == 4
                                                         && relay.PublishedPosition >= events[^1].GlobalPosition),
            "the kept orders' events handled, the lost orders' events lost, the relay done");
        sink.LostStreams.Clear();

        var (code, output) = await RelayAsync(host, "--from-time", firstLost.Timestamp.ToString("O", CultureInfo.InvariantCulture));

        Assert.True(code == 0, output);
        Assert.Contains($"back to {firstLost.GlobalPosition - 1}: 7 event(s) from position {firstLost.GlobalPosition} on", output, StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => Task.FromResult(sink.HandledInOrder().Count == events.Count && sink.RedeliveriesIgnored >= 3),
            "the lost events handled and the kept ones skipped", state: () => Task.FromResult(
                $"handled {sink.HandledInOrder().Count} of {events.Count}, redeliveries ignored {sink.RedeliveriesIgnored}"));
        Assert.Empty(sink.OrderViolations);
        Assert.Equal(events.Count, await Orders.CountRowsAsync(host.EventStore, "consumer_effects"));
        foreach (var id in lost)
            Assert.Equal([1L, 2L], sink.HandledInOrder().Where(h => h.StreamId == id.ToString("D")).Select(h => h.StreamVersion));
    }

    [SkippableFact]
    public async Task republish_refuses_what_the_message_inbox_may_have_forgotten_unless_forced_and_never_moves_forward()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var relay = host.Services.GetRequiredService<OutboxRelay>();
        foreach (var n in Enumerable.Range(0, 3))
            await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), n));
        var head = await host.EventStore.GetHeadPositionAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(relay.PublishedPosition >= head), "the relay done");

        var (code, output) = await RelayAsync(host);
        Assert.Equal((1, "error: pass one of --from-position N or --from-time T."), (code, output.Trim()));
        (code, output) = await RelayAsync(host, "--from-position", "0");
        Assert.Equal(1, code);
        Assert.Contains("positions start at 1", output, StringComparison.Ordinal);
        (code, output) = await RelayAsync(host, "--from-position", (head + 1).ToString(CultureInfo.InvariantCulture));
        Assert.Equal(0, code);
        Assert.Contains("nothing to republish", output, StringComparison.Ordinal);
        (code, output) = await RelayAsync(host, "--from-position", (head + 1).ToString(CultureInfo.InvariantCulture), "--json");
        Assert.Equal(0, code);
        using (var nothing = System.Text.Json.JsonDocument.Parse(output))
            Assert.Equal((head, head, 0L), (nothing.RootElement.GetProperty("before").GetInt64(), nothing.RootElement.GetProperty("after").GetInt64(),
                nothing.RootElement.GetProperty("events").GetInt64()));

        // A retention run whose cutoff lies after every stored event: their inbox rows may be gone.
        await host.EventStore.DeleteProcessedMessagesAsync(DateTimeOffset.UtcNow.AddMinutes(1));
        (code, output) = await RelayAsync(host, "--from-position", "1");
        Assert.Equal(1, code);
        Assert.Contains("Platform:Inbox:RetainFor", output, StringComparison.Ordinal);
        Assert.Contains("--force", output, StringComparison.Ordinal);
        Assert.Equal(head, await host.EventStore.GetCheckpointAsync("outbox"));

        (code, output) = await RelayAsync(host, "--from-position", "1", "--force", "--json");
        Assert.True(code == 0, output);
        using (var moved = System.Text.Json.JsonDocument.Parse(output))
            Assert.Equal((head, 0L, 1L, head), (moved.RootElement.GetProperty("before").GetInt64(), moved.RootElement.GetProperty("after").GetInt64(),
                moved.RootElement.GetProperty("fromPosition").GetInt64(), moved.RootElement.GetProperty("events").GetInt64()));
        await Eventually.HoldsAsync(async () => await host.EventStore.GetCheckpointAsync("outbox") == head, "the relay to publish them again");

        // An archived stream in the range is not published again, and the command says so.
        var archivedStream = (await Orders.ReadAllEventsAsync(host.EventStore))[0].StreamId;
        Assert.Equal(1, await host.EventStore.ArchiveStreamAsync(archivedStream, head));
        (code, output) = await RelayAsync(host, "--from-position", "1", "--force");
        Assert.True(code == 0, output);
        Assert.Contains($"{head - 1} event(s) from position 1 on", output, StringComparison.Ordinal);
        Assert.Contains("1 archived event(s) in that range are not published again", output, StringComparison.Ordinal);
        await Eventually.HoldsAsync(async () => await host.EventStore.GetCheckpointAsync("outbox") == head, "the relay to publish them again");
        (code, output) = await RelayAsync(host, "--from-position", "1", "--force", "--json");
        using (var json = System.Text.Json.JsonDocument.Parse(output))
            Assert.Equal(1L, json.RootElement.GetProperty("archived").GetInt64());
    }
}
