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
