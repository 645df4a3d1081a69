using System.CommandLine;
using System.Text.Json;
using Platform.Cli.Commands;
using Xunit;

namespace Platform.Sagas.Tests;

/// <summary><c>platform store verify</c> on the saga tables: a row apart from its history, timeouts of a saga that is gone.</summary>
public sealed class SagaStoreVerifyTests
{
    static async Task<(int Code, string Output)> VerifyAsync(TestDatabase database, params string[] more)
    {
        var output = new StringWriter();
        var code = await new RootCommand { StoreCommand.Create() }
            .Parse(["store", "verify", "--json", "--store", database.Store == Store.Postgres ? "postgres" : "sqlite", "--connection", database.ConnectionString, .. more])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (code, output.ToString());
    }

    static (string? Check, string? Subject, string Description)[] Problems(string output)
    {
        using var found = JsonDocument.Parse(output);
        return found.RootElement.GetProperty("problems").EnumerateArray()
            .Select(p => (p.GetProperty("check").GetString(), p.GetProperty("subject").GetString(), p.GetProperty("description").GetString()!)).ToArray();
    }

    // A restore of another build's backup, or a hand edit: a saga whose data this build's state
    // class cannot read, or whose state its machine does not have, failed only at its next message.
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task with_the_domain_a_saga_this_build_cannot_read_is_reported(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, Transport.InMemory);
        var (unreadable, paused, fine) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        host.Ledger.IgnoreReservation = _ => true;
        foreach (var (order, i) in new[] { unreadable, paused, fine }.Select((o, i) => (o, i)))
            await host.PlaceAsync(order, 20 + i);
        await Eventually.HoldsAsync(async () => (await Task.WhenAll(new[] { unreadable, paused, fine }.Select(host.StateOfAsync))).All(s => s == "AwaitingInventory"),
            "the three sagas to wait for inventory");
        const string domain = "Shop.Orders.OrdersDomain, Shop.Orders";

        var (code, output) = await VerifyAsync(database, "--domain", domain);
        Assert.True(code == 0, output);

        await database.ExecuteAsync($"UPDATE saga_instances SET data = '{{\"customerId\": {{\"name\": \"ada\"}}}}' WHERE correlation_id = '{unreadable:D}'");
        await database.ExecuteAsync($"UPDATE saga_instances SET current_state = 'Paused' WHERE correlation_id = '{paused:D}'");

        (code, output) = await VerifyAsync(database, "--domain", domain);
        Assert.Equal(1, code);
        var problems = Problems(output);
        Assert.Equal([("saga-data", $"OrderFulfilment {unreadable:D}"), ("saga-state", $"OrderFulfilment {paused:D}")],
            problems.Select(p => (p.Check, p.Subject)).Order().ToArray());
        Assert.Contains("does not read as this build's OrderFulfilmentState", problems.Single(p => p.Check == "saga-data").Description, StringComparison.Ordinal);
        Assert.Contains("state 'Paused' is not a state of this build's OrderFulfilmentStateMachine", problems.Single(p => p.Check == "saga-state").Description, StringComparison.Ordinal);
        // Without the domain, only what the tables promise each other is checked.
        Assert.Equal(0, (await VerifyAsync(database)).Code);
        (code, output) = await VerifyAsync(database, "--domain", "Shop.Orders.NoSuchDomain, Shop.Orders");
        Assert.Equal(1, code);
        Assert.Contains("error: cannot load the domain", output, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_saga_row_apart_from_its_history_and_timeouts_of_a_saga_that_is_gone_are_reported(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, Transport.InMemory);
        var order = Guid.NewGuid();
        host.Ledger.IgnoreReservation = id => id == order;
        await host.PlaceAsync(order, 10);
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "AwaitingInventory", "the inventory step");

        var (code, output) = await VerifyAsync(database);
        Assert.True(code == 0, output);

        var gone = Guid.NewGuid();
        await database.ExecuteAsync($"UPDATE saga_instances SET version = version + 5 WHERE correlation_id = '{order:D}'");
        await database.ExecuteAsync($"""
            INSERT INTO scheduled_messages (id, owner, correlation_id, token_id, kind, destination, message_type, payload, headers, due_at, created_at, attempts, last_error)
            SELECT '{Guid.NewGuid():D}', owner, '{gone:D}', '{Guid.NewGuid():D}', kind, destination, message_type, payload, headers, due_at, created_at, 0, NULL
            FROM scheduled_messages WHERE correlation_id = '{order:D}' AND token_id IS NOT NULL LIMIT 1
            """);

        (code, output) = await VerifyAsync(database);
        Assert.Equal(1, code);
        var problems = Problems(output);
        Assert.Equal([("saga-timeout-orphan", $"OrderFulfilment {gone:D}"), ("saga-version", $"OrderFulfilment {order:D}")],
            problems.Select(p => (p.Check, p.Subject)).Order().ToArray());
        Assert.Contains("DELETE FROM scheduled_messages WHERE owner = 'saga:OrderFulfilment'", problems.Single(p => p.Check == "saga-timeout-orphan").Description, StringComparison.Ordinal);
        Assert.Contains("but its history ends at version", problems.Single(p => p.Check == "saga-version").Description, StringComparison.Ordinal);
    }
}
