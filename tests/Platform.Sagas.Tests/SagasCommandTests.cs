using System.CommandLine;
using System.Text.Json;
using Platform.Cli.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Sagas;
using Xunit;

namespace Platform.Sagas.Tests;

/// <summary><c>platform sagas</c> against the store of a running runtime.</summary>
public sealed class SagasCommandTests
{
    static async Task<(int ExitCode, string Output)> SagasAsync(TestDatabase database, params string[] args)
    {
        var output = new StringWriter();
        var root = new RootCommand { SagasCommand.Create() };
        string[] store = ["--store", database.Store == Store.Postgres ? "postgres" : "sqlite", "--connection", database.ConnectionString];
        var exitCode = await root.Parse(["sagas", .. args, .. store]).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }

    [Fact]
    public async Task reading_sagas_on_sqlite_does_not_wait_for_a_writer_once_the_tables_exist()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "sagas");
        await new SagaOperations(StoreProvider.Sqlite, database.ConnectionString).CountByStateAsync();

        // A runtime's writer holds SQLite's single write lock; a reader (the CLI, the demo's progress
        // line) making sure of tables that are there must not queue behind it. Before, the
        // CREATE ... IF NOT EXISTS ran in a BEGIN IMMEDIATE transaction and waited up to 30 s.
        await using var writer = (Microsoft.Data.Sqlite.SqliteConnection)await database.OpenAsync();
        await using var holding = writer.BeginTransaction(deferred: false);
        var reader = new SagaOperations(StoreProvider.Sqlite, database.ConnectionString);
        var counted = Task.Run(() => reader.CountByStateAsync());
        var listed = Task.Run(() => reader.ListAsync());
        await Task.WhenAll(counted, listed).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(await counted);
        Assert.Empty(await listed);
    }

    // The demo's progress line looked at the sagas before the runtime had created their tables:
    // its CREATE TABLE waited in SQLite's busy handler while the runtime's writers handed the lock
    // on to each other through their write turns, and failed after the 30 s busy timeout.
    [Fact]
    public async Task saga_tables_are_created_in_turn_while_the_processs_writers_keep_the_lock_busy()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "sagas");
        await database.ExecuteAsync("PRAGMA journal_mode=WAL; CREATE TABLE work (n integer)");
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var gate = Platform.EventStore.Storage.SqliteWriteGate.For(database.ConnectionString);
            while (!stop.IsCancellationRequested)
            {
                using var turn = await gate.EnterAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
                await using var connection = (Microsoft.Data.Sqlite.SqliteConnection)await database.OpenAsync();
                await using var transaction = connection.BeginTransaction(deferred: false);
                await using var insert = connection.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO work VALUES (1)";
                await insert.ExecuteNonQueryAsync();
                await Task.Delay(5);
                await transaction.CommitAsync();
            }
        })).ToArray();
        try
        {
            await Task.Delay(200);
            // On a task of its own: Microsoft.Data.Sqlite would block this thread in the busy handler.
            var counted = await Task.Run(() => new SagaOperations(StoreProvider.Sqlite, database.ConnectionString).CountByStateAsync())
                .WaitAsync(TimeSpan.FromSeconds(5)); // its turn comes after at most eight 5 ms transactions
            Assert.Empty(counted);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }
    }

    [SkippableFact]
    public async Task list_show_retry_and_resolve_work_on_a_runtimes_sagas()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "sagas");
        await using var host = await SagaHost.StartAsync(database, Transport.InMemory);
        var (failing, resolved) = (Guid.NewGuid(), Guid.NewGuid());
        var refundBroken = true;
        host.Ledger.NoStock = id => id == failing || id == resolved;
        host.Ledger.FailRefund = id => refundBroken;
        await host.PlaceAsync(failing, 1);
        await host.PlaceAsync(resolved, 2);
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(failing) == "CompensationFailed" && await host.StateOfAsync(resolved) == "CompensationFailed",
            "both compensations to fail");

        var (code, text) = await SagasAsync(database, "list", "--state", "CompensationFailed");
        Assert.Equal(0, code);
        Assert.Contains(failing.ToString("D"), text);
        Assert.Contains(resolved.ToString("D"), text);
        Assert.Contains("2 saga(s)", text);

        (code, text) = await SagasAsync(database, "list", "--saga", "OrderFulfilment", "--state", "CompensationFailed");
        Assert.Contains("2 saga(s)", text);
        (code, text) = await SagasAsync(database, "list", "--saga", "Counting");
        Assert.Equal(0, code);
        Assert.Contains("0 saga(s)", text);

        (code, text) = await SagasAsync(database, "list", "--json");
        Assert.Equal(0, code);
        using (var document = JsonDocument.Parse(text))
            Assert.Equal(2, document.RootElement.GetArrayLength());

        (code, text) = await SagasAsync(database, "show", failing.ToString("D"));
        Assert.Equal(0, code);
        Assert.Contains("state:     CompensationFailed", text);
        Assert.Contains("CompensatingPayment -> CompensationFailed  by RefundFailed", text);
        Assert.DoesNotContain("(timeout)", text); // the saga timeout was cancelled when the compensation failed

        // Retry after the fault is cleared finishes the compensation; resolve takes the other off the list.
        refundBroken = false;
        (code, text) = await SagasAsync(database, "retry", failing.ToString("D"));
        Assert.Equal(0, code);
        Assert.Contains("back in CompensatingPayment; 1 message(s) queued and 1 timeout(s) scheduled again", text);
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(failing) == "Compensated", "the retried compensation");
        Assert.Equal(1, host.Ledger.Refunds[failing]);

        (code, text) = await SagasAsync(database, "resolve", resolved.ToString("D"));
        Assert.Equal(1, code);
        Assert.StartsWith("error: pass --reason", text);
        (code, _) = await SagasAsync(database, "resolve", resolved.ToString("D"), "--reason", "refunded by hand in the provider's console");
        Assert.Equal(0, code);
        (code, text) = await SagasAsync(database, "list", "--state", "CompensationFailed");
        Assert.Equal(0, code);
        Assert.Contains("0 saga(s)", text);
        (code, text) = await SagasAsync(database, "list", "--state", "CompensationFailed", "--all");
        Assert.Contains("resolved: refunded by hand", text);
        (code, text) = await SagasAsync(database, "retry", resolved.ToString("D"));
        Assert.Equal(1, code);
        Assert.Contains("was resolved by an operator", text);

        // Bad input: one error line, exit 1.
        foreach (var args in new[] { new[] { "show", "not-an-id" }, ["show", Guid.NewGuid().ToString("D")], ["retry", Guid.NewGuid().ToString("D")] })
        {
            (code, text) = await SagasAsync(database, args);
            Assert.Equal(1, code);
            Assert.StartsWith("error: ", text);
            Assert.Single(text.Trim().Split('\n'));
        }
        var output = new StringWriter();
        code = await new RootCommand { SagasCommand.Create() }.Parse(["sagas", "list", "--store", "oracle", "--connection", "x"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        Assert.Equal(1, code);
        Assert.StartsWith("error: unknown store 'oracle'", output.ToString());
    }
}
