using System.CommandLine;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Platform.Cli.Commands;
using Platform.Runtime;
using Platform.Runtime.Scheduling;
using Shop.Orders;
using Xunit;

namespace Platform.Sagas.Tests;

/// <summary>
/// What sagas leave waiting in the database, as gauges and in <c>platform status</c>: sagas by
/// state, and timeouts and outbox messages waiting, due and failing.
/// </summary>
public sealed class SagaGaugeTests
{
    [SkippableFact]
    public async Task a_waiting_saga_and_its_timeouts_show_in_the_gauges_and_in_status()
    {
        var values = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PlatformTelemetry.Name && instrument.Name is "platform.sagas.instances" or "platform.scheduled.messages" or "platform.scheduled.oldest_due_age")
                l.EnableMeasurementEvents(instrument);
        };
        void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) where T : struct =>
            values[instrument.Name + string.Concat(tags.ToArray().Select(t => $"|{t.Key}={t.Value}"))] = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.Start();

        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "sagas");
        await using var host = await SagaHost.StartAsync(database, Transport.InMemory, configure: cfg => cfg.Telemetry.LagInterval = TimeSpan.FromMilliseconds(100));
        var order = Guid.NewGuid();
        host.Ledger.IgnoreReservation = id => id == order;
        await host.PlaceAsync(order, 9);
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "AwaitingInventory", "the inventory step");

        await Eventually.HoldsAsync(() =>
        {
            listener.RecordObservableInstruments();
            return Task.FromResult(values.GetValueOrDefault("platform.sagas.instances|saga=OrderFulfilment|state=AwaitingInventory") == 1
                && values.GetValueOrDefault("platform.scheduled.messages|state=waiting") == 2);
        }, "the gauges to count the waiting saga and its two timeouts", state: () => Task.FromResult(string.Join(", ", values.Select(v => $"{v.Key}: {v.Value}"))));
        Assert.Equal(0, values["platform.scheduled.messages|state=due"]);
        Assert.Equal(0, values["platform.scheduled.oldest_due_age"]);

        var output = new StringWriter();
        var code = await new RootCommand { ProjectionCommands.Status() }
            .Parse(["status", "--json", "--store", "sqlite", "--connection", database.ConnectionString, "--domain", typeof(OrdersDomain).Assembly.Location])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        Assert.True(code == 0, output.ToString());
        using (var status = JsonDocument.Parse(output.ToString()))
        {
            var scheduled = status.RootElement.GetProperty("scheduled");
            Assert.Equal((2L, 0L, 0L), (scheduled.GetProperty("waiting").GetInt64(), scheduled.GetProperty("due").GetInt64(), scheduled.GetProperty("failing").GetInt64()));
        }

        // Seen from three hours later, with no runtime delivering: the step's timeout (1m) and the
        // saga's (2h) are due, the step's for almost three hours.
        var later = DateTimeOffset.UtcNow.AddHours(3);
        var count = await new ScheduledMessageStore(host.Options.Store.Provider, host.Options.Store.ConnectionString).CountAsync(later);
        Assert.Equal((0L, 2L, 0L), (count.Waiting, count.Due, count.Failing));
        Assert.InRange((later - count.OldestDue!.Value).TotalMinutes, 178, 180);
    }
}

/// <summary><c>platform store verify</c> on the saga tables: a row apart from its history, timeouts of a saga that is gone.</summary>
public sealed class SagaStoreVerifyTests
{
    static async Task<(int Code, string Output)> VerifyAsync(TestDatabase database)
    {
        var output = new StringWriter();
        var code = await new RootCommand { StoreCommand.Create() }
            .Parse(["store", "verify", "--json", "--store", database.Store == Store.Postgres ? "postgres" : "sqlite", "--connection", database.ConnectionString])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (code, output.ToString());
    }

    static async Task ExecuteAsync(TestDatabase database, string sql)
    {
        await using System.Data.Common.DbConnection connection = database.Store == Store.Postgres
            ? new Npgsql.NpgsqlConnection(database.ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
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
        await ExecuteAsync(database, $"UPDATE saga_instances SET version = version + 5 WHERE correlation_id = '{order:D}'");
        await ExecuteAsync(database, $"""
            INSERT INTO scheduled_messages (id, owner, correlation_id, token_id, kind, destination, message_type, payload, headers, due_at, created_at, attempts, last_error)
            SELECT '{Guid.NewGuid():D}', owner, '{gone:D}', '{Guid.NewGuid():D}', kind, destination, message_type, payload, headers, due_at, created_at, 0, NULL
            FROM scheduled_messages WHERE correlation_id = '{order:D}' AND token_id IS NOT NULL LIMIT 1
            """);

        (code, output) = await VerifyAsync(database);
        Assert.Equal(1, code);
        using var found = JsonDocument.Parse(output);
        var problems = found.RootElement.GetProperty("problems").EnumerateArray()
            .Select(p => (p.GetProperty("check").GetString(), p.GetProperty("subject").GetString(), p.GetProperty("description").GetString()!)).ToArray();
        Assert.Equal([("saga-timeout-orphan", $"OrderFulfilment {gone:D}"), ("saga-version", $"OrderFulfilment {order:D}")],
            problems.Select(p => (p.Item1, p.Item2)).Order().ToArray());
        Assert.Contains("DELETE FROM scheduled_messages WHERE owner = 'saga:OrderFulfilment'", problems.Single(p => p.Item1 == "saga-timeout-orphan").Item3, StringComparison.Ordinal);
        Assert.Contains("but its history ends at version", problems.Single(p => p.Item1 == "saga-version").Item3, StringComparison.Ordinal);
    }
}
