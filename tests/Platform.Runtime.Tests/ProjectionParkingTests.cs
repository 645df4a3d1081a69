using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Commands;
using Platform.Runtime.Domains;
using Platform.Runtime.Projections;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>A projection that keeps failing on an event is parked, the others go on, and it resumes after a fix (issue 6).</summary>
public sealed class ProjectionParkingTests
{
    const string PoisonCustomer = "poison-customer";

    [SkippableTheory]
    [InlineData(Store.Sqlite, false)]
    [InlineData(Store.Postgres, false)]
    [InlineData(Store.Sqlite, true)]
    [InlineData(Store.Postgres, true)]
    public async Task a_poison_event_parks_only_its_projection_and_resume_after_the_fix_catches_up(Store store, bool fromCommandLine)
    {
        var logs = new ErrorLog();
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory,
            services => services.AddSingleton<ILoggerProvider>(logs),
            cfg =>
            {
                cfg.Projections.MaxAttempts = 3;
                cfg.Projections.RetryDelay = TimeSpan.FromMilliseconds(20);
                cfg.Projections.ResumePollInterval = TimeSpan.FromMilliseconds(50);
            });
        var engine = host.Services.GetRequiredService<ProjectionEngine>();
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var parked = new ConcurrentQueue<string>();
        using var meter = new MeterListener();
        meter.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PlatformTelemetry.Name && instrument.Name == "platform.projections.parked")
                listener.EnableMeasurementEvents(instrument);
        };
        meter.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "projection") parked.Enqueue((string)tag.Value!);
        });
        meter.Start();

        for (var n = 0; n < 3; n++)
            await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), n));
        await Eventually.HoldsAsync(async () => (await engine.GetStatusAsync()).All(s => s.State == ProjectionState.Live && s.LagPositions == 0),
            "both projections to catch up");

        // The read model's database rejects one order's row: a poison event for OrderSummary only.
        await Orders.ExecuteAsync(host.EventStore, store == Store.Sqlite
            ? $"CREATE TRIGGER reject_poison BEFORE INSERT ON order_summary WHEN NEW.customer_id = '{PoisonCustomer}' BEGIN SELECT RAISE(ABORT, 'poison row'); END"
            : $"""
               CREATE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.customer_id = '{PoisonCustomer}' THEN RAISE EXCEPTION 'poison row'; END IF; RETURN NEW; END $$;
               CREATE TRIGGER reject_poison BEFORE INSERT ON order_summary FOR EACH ROW EXECUTE FUNCTION reject_poison();
               """);
        var poisonId = Guid.NewGuid();
        var poison = Orders.Place(poisonId, 3) with { CustomerId = PoisonCustomer };
        await dispatcher.DispatchAsync(poison);
        var poisonPosition = (await Orders.ReadAllEventsAsync(host.EventStore)).Single(e => e.StreamId == poisonId.ToString("D")).GlobalPosition;
        for (var n = 4; n < 8; n++)
            await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), n));
        var head = await host.EventStore.GetHeadPositionAsync();

        await Eventually.HoldsAsync(async () => (await engine.GetStatusAsync()).Single(s => s.Name == "CustomerOrders").Position == head
                                                && engine.GetStatus().Single(s => s.Name == "OrderSummary").State == ProjectionState.Parked,
            "OrderSummary to be parked while CustomerOrders reaches the head",
            state: async () => string.Join("; ", (await engine.GetStatusAsync()).Select(s => $"{s.Name} {s.State} at {s.Position}")));

        var statuses = (await engine.GetStatusAsync()).ToDictionary(s => s.Name);
        var summary = statuses["OrderSummary"];
        Assert.Equal(poisonPosition - 1, summary.Position);
        Assert.Equal(3, summary.Attempts);
        Assert.Equal(head, summary.Head);
        Assert.Equal(head - poisonPosition + 1, summary.LagPositions);
        Assert.True(summary.LagTime > TimeSpan.Zero);
        var failure = Assert.IsType<ProjectionApplyException>(summary.LastError);
        Assert.Equal((poisonPosition, poisonId.ToString("D"), OrderPlaced.EventTypeName), (failure.GlobalPosition, failure.StreamId, failure.EventType));
        var customers = statuses["CustomerOrders"];
        Assert.Equal(ProjectionState.Live, customers.State);
        Assert.Equal((0L, TimeSpan.Zero), (customers.LagPositions, customers.LagTime));
        Assert.Contains("OrderSummary", parked);
        var alert = Assert.Single(logs.Errors);
        Assert.Contains("OrderSummary", alert.Message);
        Assert.Contains(poisonPosition.ToString(System.Globalization.CultureInfo.InvariantCulture), alert.Message);
        Assert.Contains(poisonId.ToString("D"), alert.Message);
        Assert.Contains(OrderPlaced.EventTypeName, alert.Message);
        Assert.IsType<ProjectionApplyException>(alert.Exception);
        Assert.False(engine.Resume("CustomerOrders"));
        // Degraded, not unready: every instance shares the parked table.
        var health = await host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>()
            .CheckHealthAsync(check => check.Name == PlatformHealthChecks.Projections);
        var projectionsHealth = health.Entries[PlatformHealthChecks.Projections];
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, projectionsHealth.Status);
        Assert.Contains($"OrderSummary: parked on the event at position {poisonPosition}", projectionsHealth.Description, StringComparison.Ordinal);
        // Another process (platform status) sees the parking through the database.
        var projections = host.Services.GetRequiredService<DomainCatalog>().Projections;
        var seenFromDatabase = (await ProjectionStatusReader.ReadAsync(host.EventStore, projections)).ToDictionary(s => s.Name);
        Assert.Equal((ProjectionState.Parked, poisonPosition - 1), (seenFromDatabase["OrderSummary"].State, seenFromDatabase["OrderSummary"].Position));
        Assert.Equal(ProjectionState.Live, seenFromDatabase["CustomerOrders"].State);

        // The fix: the database accepts the row again; resuming continues from the poison event.
        await Orders.ExecuteAsync(host.EventStore, "DROP TRIGGER reject_poison" + (store == Store.Postgres ? " ON order_summary" : ""));
        if (fromCommandLine)
        {
            // Another process (an operator's shell) releases it through the database.
            var (code, output) = await ProjectionCommandTests.RunAsync(["projections", "resume", "OrderSummary", .. ProjectionCommandTests.StoreArguments(host)]);
            Assert.Equal((0, $"OrderSummary: released; the runtime retries it from position {poisonPosition} (platform status shows it catching up)."),
                (code, output.Trim()));
        }
        else
        {
            Assert.True(engine.Resume("OrderSummary"));
        }
        await Eventually.HoldsAsync(async () => (await engine.GetStatusAsync()).All(s => s.State == ProjectionState.Live && s.LagPositions == 0),
            "OrderSummary to catch up after the resume");
        await Eventually.HoldsAsync(async () => (await ProjectionStatusReader.ReadAsync(host.EventStore, projections)).All(s => s.State == ProjectionState.Live),
            "the parked flag to be cleared after the resume");
        var rows = await Orders.ReadSummariesAsync(host);
        Assert.Equal(8, rows.Count);
        Assert.Equal(PoisonCustomer, rows.Single(r => r.OrderId == poisonId).CustomerId);
        Assert.Equal(0, (await engine.GetStatusAsync()).Single(s => s.Name == "OrderSummary").EventsUnchanged);
        if (fromCommandLine)
        {
            var (code, output) = await ProjectionCommandTests.RunAsync(["projections", "resume", "OrderSummary", .. ProjectionCommandTests.StoreArguments(host)]);
            Assert.Equal((1, "error: projection 'OrderSummary' is not parked; see platform status."), (code, output.Trim()));
        }
    }

    sealed class ErrorLog : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<(string Message, Exception? Exception)> Errors { get; } = new();

        public ILogger CreateLogger(string categoryName) => categoryName == typeof(ProjectionEngine).FullName ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
                Errors.Enqueue((formatter(state, exception), exception));
        }

        public void Dispose()
        {
        }
    }
}
