using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Runtime.Commands;
using Platform.Runtime.DeadLetters;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>platform dlq</c> against the store of a running runtime.</summary>
public sealed class DlqCommandTests
{
    static async Task<(int ExitCode, string Output)> DlqAsync(params string[] args)
    {
        var output = new StringWriter();
        var root = new RootCommand { DlqCommand.Create() };
        var exitCode = await root.Parse(["dlq", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }

    [SkippableFact]
    public async Task list_show_discard_and_replay_work_on_the_stores_dead_letters()
    {
        await using var host = await DeadLetterTests.StartAsync(Store.Sqlite, Transport.InMemory, immediate: 0, exponential: 0, TimeSpan.Zero);
        var poison = host.Services.GetRequiredService<PoisonSwitch>();
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var (discarded, replayed) = (Guid.NewGuid(), Guid.NewGuid());
        poison.Poison(discarded);
        poison.Poison(replayed);
        await dispatcher.DispatchAsync(Orders.Place(discarded, 1));
        await dispatcher.DispatchAsync(Orders.Place(replayed, 2));
        var toDiscard = await DeadLetterTests.WaitForDeadLetterAsync(letters, discarded);
        var toReplay = await DeadLetterTests.WaitForDeadLetterAsync(letters, replayed);
        string[] store = ["--store", "sqlite", "--connection", host.Options.Store.ConnectionString];

        var (code, output) = await DlqAsync(["list", "--json", .. store]);
        Assert.Equal(0, code);
        using (var listed = JsonDocument.Parse(output))
            Assert.Equal(new[] { toDiscard.Id, toReplay.Id }.Order(), listed.RootElement.EnumerateArray().Select(l => l.GetProperty("id").GetGuid()).Order());

        (code, output) = await DlqAsync(["list", .. store]);
        Assert.Equal(0, code);
        Assert.Contains(toDiscard.Id.ToString("D"), output, StringComparison.Ordinal);
        Assert.Contains("2 dead letter(s)", output, StringComparison.Ordinal);

        (code, output) = await DlqAsync(["show", toDiscard.Id.ToString("D"), "--json", .. store]);
        Assert.Equal(0, code);
        using (var shown = JsonDocument.Parse(output))
        {
            Assert.Equal(discarded.ToString("D"), shown.RootElement.GetProperty("streamId").GetString());
            Assert.Equal(typeof(InvalidOperationException).FullName, shown.RootElement.GetProperty("exceptionType").GetString());
            Assert.Equal("Dead", shown.RootElement.GetProperty("state").GetString());
        }

        (code, output) = await DlqAsync(["discard", toDiscard.Id.ToString("D"), .. store]);
        Assert.Equal(1, code);
        Assert.StartsWith("error: pass --reason", output, StringComparison.Ordinal);
        (code, _) = await DlqAsync(["discard", toDiscard.Id.ToString("D"), "--reason", "duplicate order", .. store]);
        Assert.Equal(0, code);
        (code, output) = await DlqAsync(["show", toDiscard.Id.ToString("D"), .. store]);
        Assert.Equal(0, code);
        Assert.Contains("Discarded (duplicate order)", output, StringComparison.Ordinal);

        // Several ids: each is checked first, so one that is not an id marks none of them.
        (code, output) = await DlqAsync(["replay", toReplay.Id.ToString("D"), "not-an-id", .. store]);
        Assert.Equal(1, code);
        Assert.Contains("'not-an-id' is not a dead letter id", output, StringComparison.Ordinal);
        Assert.Equal(DeadLetterState.Dead, (await letters.GetAsync(toReplay.Id))!.State);
        // One that is an id but not waiting (discarded above) is reported; the others are requested.
        poison.Heal(replayed);
        (code, output) = await DlqAsync(["replay", toReplay.Id.ToString("D"), toDiscard.Id.ToString("D"), .. store]);
        Assert.Equal(1, code);
        Assert.Contains($"{toReplay.Id:D}: replay requested", output, StringComparison.Ordinal);
        Assert.Contains($"no waiting dead letter {toDiscard.Id:D}", output, StringComparison.Ordinal);
        await Eventually.HoldsAsync(() => Task.FromResult(poison.Consumed.ContainsKey(replayed.ToString("D"))), "the replayed event");
        await Eventually.HoldsAsync(async () => await letters.GetAsync(toReplay.Id) is null, "the replayed letter to be removed");

        (code, output) = await DlqAsync(["list", "--json", .. store]);
        Assert.Equal(0, code);
        using (var remaining = JsonDocument.Parse(output))
            Assert.Equal(0, remaining.RootElement.GetArrayLength());
        (code, output) = await DlqAsync(["list", "--all", "--json", .. store]);
        using (var all = JsonDocument.Parse(output))
            Assert.Equal("duplicate order", all.RootElement.EnumerateArray().Single().GetProperty("discardReason").GetString());
        Assert.False(poison.Consumed.ContainsKey(discarded.ToString("D")));
    }

    [Theory]
    [InlineData("show", "not-an-id")]
    [InlineData("replay", "0195f5a2-0000-7000-8000-000000000000")]
    [InlineData("discard", "0195f5a2-0000-7000-8000-000000000000", "--reason", "gone")]
    public async Task a_bad_or_unknown_id_exits_1_with_one_line_saying_what_to_do(params string[] args)
    {
        // An empty store: the commands refuse a SQLite path with no file at all.
        var file = Path.Combine(Path.GetTempPath(), $"dlq-{Guid.NewGuid():N}.db");
        await File.WriteAllBytesAsync(file, []);
        try
        {
            var (code, output) = await DlqAsync([.. args, "--store", "sqlite", "--connection", $"Data Source={file}"]);
            Assert.Equal(1, code);
            var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            Assert.Contains("platform dlq list", line, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    [Fact]
    public async Task an_unknown_store_exits_1()
    {
        var (code, output) = await DlqAsync("list", "--store", "oracle", "--connection", "x");
        Assert.Equal(1, code);
        Assert.StartsWith("error: unknown store 'oracle'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_store_that_was_unreachable_at_first_use_creates_its_table_once_it_is_reachable()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"dlq-{Guid.NewGuid():N}");
        var letters = new DeadLetterStore(Runtime.Configuration.StoreProvider.Sqlite, $"Data Source={Path.Combine(folder, "events.db")}");
        try
        {
            await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => letters.ListAsync()); // no such folder yet
            Directory.CreateDirectory(folder);
            Assert.Empty(await letters.ListAsync());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
    }
}
