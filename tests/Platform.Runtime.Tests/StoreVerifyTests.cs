using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.EventStore.Outbox;
using Platform.EventStore.Schema;
using Platform.Runtime.Commands;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>platform store verify</c>: what a restore or a hand edit can leave inconsistent, found with what to do.</summary>
public sealed class StoreVerifyTests
{
    internal static Task<(int ExitCode, string Output)> VerifyAsync(RuntimeHost host, params string[] args) =>
        StoreAsync(host.Options.Store.Provider.ToString(), host.Options.Store.ConnectionString, ["verify", .. args]);

    static Task<(int ExitCode, string Output)> StoreAsync(string provider, string connectionString, string[] args) =>
        Cli.RunAsync([StoreCommand.Create()], ["store", .. args, "--store", provider.ToLowerInvariant(), "--connection", connectionString]);

    internal static async Task PlaceAndConfirmAsync(RuntimeHost host, int orders)
    {
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        for (var n = 0; n < orders; n++)
        {
            var id = Guid.NewGuid();
            await dispatcher.DispatchAsync(Orders.Place(id, n));
            await dispatcher.DispatchAsync(new ConfirmOrder(id));
        }
        var head = await host.EventStore.GetHeadPositionAsync();
        var relay = host.Services.GetRequiredService<OutboxRelay>();
        await Eventually.HoldsAsync(async () => relay.PublishedPosition >= head && await host.EventStore.GetCheckpointAsync("projection:OrderSummary") >= head,
            "the relay and the projection done");
    }

    // The backup and recovery procedure of docs/runbook.md on the embedded store: a copy taken while
    // the runtime runs, the runtime stopped, the copy put back, verified, and the runtime started on it.
    [SkippableFact]
    public async Task a_sqlite_store_backed_up_while_running_and_restored_is_consistent_and_the_runtime_goes_on_from_it()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "backup");
        var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(database.ConnectionString).DataSource;
        var backup = Path.Combine(Path.GetTempPath(), $"backup-{Guid.NewGuid():N}.db");
        try
        {
            await using (var host = await RuntimeHost.StartOnAsync(database, Transport.InMemory))
            {
                await PlaceAndConfirmAsync(host, 2);
                var (code, output) = await StoreAsync("sqlite", database.ConnectionString, ["backup", "--out", backup]);
                Assert.True(code == 0, output);
                Assert.Contains("4 event(s), 0 archived, highest position 4; verified.", output, StringComparison.Ordinal);
                (code, output) = await StoreAsync("sqlite", database.ConnectionString, ["backup", "--out", backup]);
                Assert.Equal(1, code);
                Assert.Contains("a backup never overwrites a file", output, StringComparison.Ordinal);
                var nowhere = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "backup.db");
                (code, output) = await StoreAsync("sqlite", database.ConnectionString, ["backup", "--out", nowhere]);
                Assert.Equal(1, code);
                Assert.Contains("error: the backup failed", output, StringComparison.Ordinal);
                Assert.False(File.Exists(nowhere));
                await PlaceAndConfirmAsync(host, 1); // after the backup: lost by the restore
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "-wal", "-shm" })
                File.Delete(file + suffix);
            File.Copy(backup, file, overwrite: true);
            var (verified, report) = await StoreAsync("sqlite", database.ConnectionString, ["verify"]);
            Assert.True(verified == 0, report);
            Assert.Contains("4 event(s), 0 archived; highest position 4, last handed out 4", report, StringComparison.Ordinal);

            await using (var host = await RuntimeHost.StartOnAsync(database, Transport.InMemory))
            {
                await PlaceAndConfirmAsync(host, 1);
                Assert.Equal(6, await host.EventStore.GetHeadPositionAsync());
                Assert.Equal(3, (await Orders.ReadSummariesAsync(host)).Count);
                Assert.Equal(await Orders.ReplaySummariesAsync(host), await Orders.ReadSummariesAsync(host));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(backup);
        }
    }

    [SkippableFact]
    public async Task backup_on_postgres_names_its_own_tools()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Postgres, "backup");
        var (code, output) = await StoreAsync("postgres", database.ConnectionString, ["backup", "--out", Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.db")]);
        Assert.Equal(1, code);
        Assert.Contains("pg_dump --format=custom", output, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_consistent_store_passes_and_each_kind_of_damage_is_reported_with_its_subject(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var (gap, ahead, twice) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        foreach (var (id, n) in new[] { gap, ahead, twice }.Select((id, n) => (id, n)))
        {
            await dispatcher.DispatchAsync(Orders.Place(id, n));
            await dispatcher.DispatchAsync(new ConfirmOrder(id));
        }
        var events = await Orders.ReadAllEventsAsync(host.EventStore);
        var head = events[^1].GlobalPosition;
        var relay = host.Services.GetRequiredService<OutboxRelay>();
        await Eventually.HoldsAsync(async () => relay.PublishedPosition >= head && await host.EventStore.GetCheckpointAsync("projection:OrderSummary") >= head,
            "the relay and the projection done");

        var (code, output) = await VerifyAsync(host);
        Assert.True(code == 0, output);
        Assert.Contains($"6 event(s), 0 archived; highest position {head}, last handed out {head}", output, StringComparison.Ordinal);
        Assert.Contains("consistent:", output, StringComparison.Ordinal);

        // What a partial restore or a hand edit leaves: a lost event, an event both live and
        // archived, a position sequence behind the rows, a read model's checkpoint, a snapshot and
        // an ordered consumer's row ahead of the events.
        var copied = events.First(e => e.StreamId == twice.ToString("D"));
        var position = copied.GlobalPosition.ToString(CultureInfo.InvariantCulture);
        await Orders.ExecuteAsync(host.EventStore, $"DELETE FROM events WHERE stream_id = '{gap:D}' AND stream_version = 1");
        await Orders.ExecuteAsync(host.EventStore,
            "INSERT INTO archived_events (global_position, stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, \"timestamp\") " +
            $"SELECT global_position, stream_id, stream_type, stream_version, event_id, type_name, schema_version, data, metadata, \"timestamp\" FROM events WHERE global_position = {position}");
        await Orders.ExecuteAsync(host.EventStore, store == Store.Postgres
            ? "SELECT setval(pg_get_serial_sequence('events', 'global_position'), 1)"
            : "UPDATE sqlite_sequence SET seq = 1 WHERE name = 'events'");
        await host.EventStore.SaveCheckpointAsync("projection:OrderSummary", head + 100);
        await using (var context = host.EventStore.CreateDbContext())
        {
            context.Snapshots.Add(new SnapshotRecord { StreamId = ahead.ToString("D"), StreamType = "Order", StreamVersion = 5, SchemaFingerprint = "f", Data = "{}", Timestamp = DateTimeOffset.UtcNow });
            context.ConsumerStreams.Add(new ConsumerStreamRecord { Consumer = "restored-consumer", StreamId = ahead.ToString("D"), StreamVersion = 9, ProcessedAt = DateTimeOffset.UtcNow });
            await context.SaveChangesAsync();
        }

        (code, output) = await VerifyAsync(host, "--json");
        Assert.Equal(1, code);
        using var found = JsonDocument.Parse(output);
        Assert.False(found.RootElement.GetProperty("consistent").GetBoolean());
        Assert.Equal(1L, found.RootElement.GetProperty("lastAssignedPosition").GetInt64());
        var problems = found.RootElement.GetProperty("problems").EnumerateArray()
            .Select(p => (p.GetProperty("check").GetString(), p.GetProperty("subject").GetString())).Order().ToArray();
        Assert.Equal(new (string?, string?)[]
        {
            ("archived-twice", copied.EventId.ToString("D")),
            ("checkpoint-ahead", "projection:OrderSummary"),
            ("consumer-ahead", $"restored-consumer {ahead:D}"),
            ("positions", "events"),
            ("snapshot-ahead", ahead.ToString("D")),
            ("stream-versions", gap.ToString("D")),
            ("stream-versions", twice.ToString("D")),
        }.Order(), problems);

        (code, output) = await VerifyAsync(host);
        Assert.Equal(1, code);
        Assert.Contains($"problem [stream-versions] {gap:D}: 1 event(s) with versions 2 to 2: versions are missing", output, StringComparison.Ordinal);
        Assert.Contains($"problem [stream-versions] {twice:D}: 3 event(s) with versions 1 to 2: a version is stored twice", output, StringComparison.Ordinal);
        Assert.Contains("Run: platform projections rebuild OrderSummary", output, StringComparison.Ordinal);
        Assert.Contains(store == Store.Postgres ? $"Run: SELECT setval(pg_get_serial_sequence('events', 'global_position'), {head});" : $"Run: UPDATE sqlite_sequence SET seq = {head} WHERE name = 'events';",
            output, StringComparison.Ordinal);
        Assert.Contains("7 problem(s)", output, StringComparison.Ordinal);

        // The same damage, stream by stream: each stream's own problems, not the store-wide ones.
        var streams = new[] { gap, ahead, twice }.SelectMany(id => new[] { "--stream", id.ToString("D") }).ToArray();
        (code, output) = await VerifyAsync(host, [.. streams, "--stream", "nowhere", "--json"]);
        Assert.Equal(1, code);
        using var scoped = JsonDocument.Parse(output);
        Assert.Equal(new (string?, string?)[]
        {
            ("archived-twice", copied.EventId.ToString("D")),
            ("consumer-ahead", $"restored-consumer {ahead:D}"),
            ("no-stream", "nowhere"),
            ("snapshot-ahead", ahead.ToString("D")),
            ("stream-versions", gap.ToString("D")),
            ("stream-versions", twice.ToString("D")),
        }.Order(), scoped.RootElement.GetProperty("problems").EnumerateArray()
            .Select(p => (p.GetProperty("check").GetString(), p.GetProperty("subject").GetString())).Order().ToArray());
        Assert.Equal(5L, scoped.RootElement.GetProperty("events").GetInt64());
        Assert.Equal(1L, scoped.RootElement.GetProperty("archivedEvents").GetInt64());
        (code, output) = await VerifyAsync(host, "--stream", ahead.ToString("D"));
        Assert.Equal(1, code);
        Assert.Contains($"2 event(s), 0 archived in 1 stream(s)", output, StringComparison.Ordinal);
        Assert.Contains("2 problem(s)", output, StringComparison.Ordinal);
        // A stream nothing happened to.
        var untouched = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(untouched, 9));
        (code, output) = await VerifyAsync(host, "--stream", untouched.ToString("D"));
        Assert.True(code == 0, output);
        Assert.Contains("consistent: these streams' versions, archive, snapshots and consumer streams agree", output, StringComparison.Ordinal);
    }
}
