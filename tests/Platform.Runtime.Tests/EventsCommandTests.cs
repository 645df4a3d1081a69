using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Runtime.Commands;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>platform events tail</c> and <c>platform stream show</c> against the store of a running runtime.</summary>
public sealed class EventsCommandTests
{
    static async Task<(int ExitCode, string Output)> RunAsync(string[] args, CancellationToken cancellationToken = default, TextWriter? output = null)
    {
        output ??= new StringWriter();
        var root = new RootCommand { EventCommands.Events(), EventCommands.Stream() };
        var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output }, cancellationToken);
        return (exitCode, output.ToString()!);
    }

    static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task tail_prints_the_store_in_global_order_and_stream_show_prints_one_stream(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());
        var confirmId = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(first, 1), new CommandContext(CorrelationId: "checkout-1"));
        await dispatcher.DispatchAsync(Orders.Place(second, 2));
        await dispatcher.DispatchAsync(new ConfirmOrder(first), new CommandContext(confirmId, "checkout-1"));
        var arguments = ProjectionCommandTests.StoreArguments(host);

        var (code, output) = await RunAsync(["events", "tail", .. arguments]);
        Assert.Equal(0, code);
        var lines = Lines(output);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("1  ", lines[0], StringComparison.Ordinal);
        Assert.Contains($"Order {first:D} v1  {OrderPlaced.EventTypeName} v2", lines[0], StringComparison.Ordinal);
        Assert.Contains($"Order {first:D} v2  {OrderConfirmed.EventTypeName} v1", lines[2], StringComparison.Ordinal);

        (code, output) = await RunAsync(["events", "tail", "--json", "--from", "2", .. arguments]);
        Assert.Equal(0, code);
        var events = Lines(output).Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Assert.Equal([2L, 3L], events.Select(e => e.GetProperty("position").GetInt64()));
        Assert.Equal(second.ToString("D"), events[0].GetProperty("streamId").GetString());
        Assert.Equal("customer-2", events[0].GetProperty("payload").GetProperty("customerId").GetString());
        Assert.Equal("checkout-1", events[1].GetProperty("correlationId").GetString());
        Assert.Equal(confirmId.ToString("D"), events[1].GetProperty("causationId").GetString());

        (code, output) = await RunAsync(["events", "tail", "--type", "OrderPlaced", .. arguments]);
        Assert.Equal(0, code);
        Assert.Equal(2, Lines(output).Length);
        Assert.All(Lines(output), line => Assert.Contains(OrderPlaced.EventTypeName, line, StringComparison.Ordinal));

        (code, output) = await RunAsync(["stream", "show", first.ToString("D"), .. arguments]);
        Assert.Equal(0, code);
        Assert.StartsWith($"stream Order {first:D}: 2 event(s), version 2", output, StringComparison.Ordinal);
        Assert.Contains($"correlation checkout-1  causation {confirmId:D}", output, StringComparison.Ordinal);

        (code, output) = await RunAsync(["stream", "show", first.ToString("D"), "--json", .. arguments]);
        Assert.Equal(0, code);
        using var shown = JsonDocument.Parse(output);
        var stream = shown.RootElement.EnumerateArray().ToArray();
        Assert.Equal([1L, 2L], stream.Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal([OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName], stream.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal([2, 1], stream.Select(e => e.GetProperty("schemaVersion").GetInt32()));
        Assert.Equal("customer-1", stream[0].GetProperty("payload").GetProperty("customerId").GetString());
        Assert.True(stream[0].TryGetProperty("timestamp", out _));
    }

    [SkippableFact]
    public async Task tail_follow_prints_new_events_until_cancelled_and_exits_0()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 1));
        var output = new LockedStringWriter();
        using var stop = new CancellationTokenSource();
        var following = RunAsync(["events", "tail", "--follow", "--json", .. ProjectionCommandTests.StoreArguments(host)], stop.Token, output);

        await Eventually.HoldsAsync(() => Task.FromResult(Lines(output.ToString()!).Length == 1), "the stored event");
        var later = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(later, 2));
        await Eventually.HoldsAsync(() => Task.FromResult(output.ToString()!.Contains(later.ToString("D"), StringComparison.Ordinal)), "the new event");
        Assert.False(following.IsCompleted);
        await stop.CancelAsync();

        var (code, text) = await following;
        Assert.Equal(0, code);
        Assert.Equal([1L, 2L], Lines(text).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("position").GetInt64()));
    }

    [SkippableFact]
    public async Task mistakes_exit_1_with_one_line_saying_what_to_pass()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory);
        var arguments = ProjectionCommandTests.StoreArguments(host);

        async Task ExpectAsync(string[] args, string expected)
        {
            var (code, output) = await RunAsync(args);
            Assert.Equal(1, code);
            var line = Assert.Single(Lines(output));
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            Assert.Contains(expected, line, StringComparison.Ordinal);
        }

        await ExpectAsync(["stream", "show", "no-such-order", .. arguments], "'platform events tail' shows the stream ids");
        await ExpectAsync(["events", "tail", "--type", "OrderShredded", .. arguments], $"pass one of: {FirstEventTypeNames()}");
        await ExpectAsync(["events", "tail", "--from", "0", .. arguments], "positions start at 1");
        await ExpectAsync(["events", "tail", "--store", "sqlite", "--connection", host.Options.Store.ConnectionString], "pass --domain");
        // A SQLite path with no store: an error, and no empty database file left in its place.
        var absent = Path.Combine(Path.GetTempPath(), "platform-no-store-" + Guid.NewGuid().ToString("N"), "events.db");
        Directory.CreateDirectory(Path.GetDirectoryName(absent)!);
        try
        {
            await ExpectAsync(["events", "tail", "--store", "sqlite", "--connection", $"Data Source={absent}", .. arguments.SkipWhile(a => a != "--domain")],
                $"no SQLite store at '{absent}'");
            Assert.False(File.Exists(absent), "the command created the database file it was asked to read");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(absent)!, recursive: true);
        }
    }

    /// <summary>A StringWriter the test may read while the command writes to it from another thread.</summary>
    sealed class LockedStringWriter : StringWriter
    {
        readonly Lock _lock = new();

        public override void Write(char value)
        {
            lock (_lock)
                base.Write(value);
        }

        public override void Write(string? value)
        {
            lock (_lock)
                base.Write(value);
        }

        public override void WriteLine(string? value)
        {
            lock (_lock)
                base.WriteLine(value);
        }

        public override string ToString()
        {
            lock (_lock)
                return base.ToString();
        }
    }

    // The first names of the domain's sorted event types, enough to see the list is there.
    static string FirstEventTypeNames() =>
        string.Join(", ", OrdersDomain.EventTypes.Select(d => d.TypeName).Order(StringComparer.Ordinal).Take(2));
}
