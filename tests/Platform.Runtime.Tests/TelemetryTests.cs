using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Projections;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The runtime's OpenTelemetry wiring (<c>Platform:Telemetry</c>): one trace from a command sent on
/// the bus to the read model, and the metrics the platform team watches. The exporters are
/// OpenTelemetry's in-memory ones, added the way a host adds its own.
/// </summary>
public sealed class TelemetryTests
{
    [SkippableTheory]
    [InlineData(Store.Sqlite, Transport.InMemory)]
    [InlineData(Store.Sqlite, Transport.RabbitMq)]
    [InlineData(Store.Sqlite, Transport.Kafka)]
    public async Task one_trace_runs_from_a_command_on_the_bus_to_the_consumer_and_the_read_model_and_the_metrics_are_exported(
        Store store, Transport transport)
    {
        var spans = new LockedCollection<Activity>();
        var metrics = new LockedCollection<Metric>();
        await using var host = await RuntimeHost.StartAsync(store, transport,
            services =>
            {
                services.AddSingleton<ObservationSink>();
                services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
                services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
            },
            cfg =>
            {
                cfg.AddEventConsumer<OrderEventRecorder>();
                cfg.Telemetry.Enabled = true;
                cfg.Telemetry.ServiceName = "telemetry-test";
                cfg.Telemetry.LagInterval = TimeSpan.FromMilliseconds(50);
            });
        await Orders.ExecuteAsync(host.EventStore, OrderEventRecorder.CreateTableSql);
        var sink = host.Services.GetRequiredService<ObservationSink>();

        var id = Guid.NewGuid();
        var client = host.Bus.CreateRequestClient<PlaceOrder>(host.Options.CommandAddress);
        var accepted = await client.GetResponse<CommandAccepted>(Orders.Place(id, 1));
        Assert.Equal(1, accepted.Message.Version);
        await Eventually.HoldsAsync(() => Task.FromResult(sink.HandledInOrder().Any(h => h.StreamId == accepted.Message.StreamId)),
            "the consumer to commit OrderPlaced");
        await Eventually.HoldsAsync(async () => (await Orders.ReadSummariesAsync(host)).Any(r => r.OrderId == id), "the read model row");
        await Eventually.HoldsAsync(() => Task.FromResult(Snapshot(spans).Count(s => s.DisplayName.StartsWith("platform.project ", StringComparison.Ordinal)
                                                                            && Tag(s, "platform.stream_id") == accepted.Message.StreamId) == 2),
            "both projections to report applying the event");

        // A span is exported when it ends, and the consumer's consume span (on Kafka, and the
        // record's receive span around it) ends only after the consumer committed: wait for them.
        Activity[] all = [], trace = [];
        Dictionary<ActivitySpanId, Activity> byId = [];
        Activity command = null!;
        bool Descends(Activity span, Activity ancestor)
        {
            for (var current = span; byId.TryGetValue(current.ParentSpanId, out var parent); current = parent)
            {
                if (parent.SpanId == ancestor.SpanId)
                    return true;
            }
            return false;
        }
        bool ConsumedUnderThePublish()
        {
            all = Snapshot(spans).ToArray();
            command = all.Single(s => s.DisplayName == "platform.command PlaceOrder" && Tag(s, "platform.stream_id") == accepted.Message.StreamId);
            trace = all.Where(s => s.TraceId == command.TraceId).ToArray();
            byId = trace.ToDictionary(s => s.SpanId);
            // The command's own consume span too: it ends after the response, which may be after the
            // relay published the event and its consumer was done (a spans list taken before it
            // ended failed the assertions below under load).
            return trace.Any(p => p.DisplayName == "platform.publish " + OrderPlaced.EventTypeName
                                  && trace.Any(s => s.Source.Name == PlatformObservability.MassTransitSource && s.Kind == ActivityKind.Consumer && Descends(s, p)))
                   && trace.Any(s => s.Source.Name == PlatformObservability.MassTransitSource && s.Kind == ActivityKind.Consumer && Descends(command, s));
        }
        await Eventually.HoldsAsync(() => Task.FromResult(ConsumedUnderThePublish()), "the event consumer's consume span under the relay's publish, and the command's consume span");

        // The command came in over the bus: MassTransit's send is the root and its consume is above the command.
        var root = Assert.Single(trace, s => s.ParentSpanId == default);
        Assert.Equal(PlatformObservability.MassTransitSource, root.Source.Name);
        Assert.Contains(trace, s => s.Source.Name == PlatformObservability.MassTransitSource && s.Kind == ActivityKind.Consumer && Descends(command, s));
        // The relay published the stored event in the same trace, under the command, and the event
        // consumer's consume activity continues from that publish.
        var publish = Assert.Single(trace, s => s.DisplayName == "platform.publish " + OrderPlaced.EventTypeName);
        Assert.True(Descends(publish, command), "the publish continues the command's trace");
        Assert.Contains(trace, s => s.Source.Name == PlatformObservability.MassTransitSource && s.Kind == ActivityKind.Consumer
                                    && Descends(s, publish));
        // The projection engine reads the store, not the bus: its spans hang under the command through the stored traceparent.
        var projected = trace.Where(s => s.DisplayName.StartsWith("platform.project ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["platform.project CustomerOrders", "platform.project OrderSummary"], projected.Select(s => s.DisplayName).Order());
        Assert.All(projected, s => Assert.True(Descends(s, command), s.DisplayName + " continues the command's trace"));
        Assert.Equal(["telemetry-test"], host.Services.GetRequiredService<TracerProvider>().GetResource().Attributes
            .Where(a => a.Key == "service.name").Select(a => (string)a.Value!));

        // Metrics: appended, published, consumed, projection lag (caught up: 0) and the relay's lag.
        var engine = host.Services.GetRequiredService<ProjectionEngine>();
        await Eventually.HoldsAsync(() => Task.FromResult(engine.LastMeasuredStatus.Count == 2 && engine.LastMeasuredStatus.All(s => s.Head >= 1 && s.LagPositions == 0)),
            "the lag gauges to measure both caught-up projections");
        Assert.True(host.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));
        var exported = Snapshot(metrics);
        Assert.True(Sum(exported, "platform.events.appended", "aggregate", "Order") >= 1);
        Assert.True(Sum(exported, "platform.events.published") >= 1);
        Assert.True(Sum(exported, "platform.events.consumed") >= 1);
        Assert.True(Sum(exported, "platform.projections.applied", "projection", "OrderSummary") >= 1);
        Assert.Equal(2, Points(exported, "platform.projections.lag").Select(p => Tag(p, "projection")).Distinct().Count(name => name is "OrderSummary" or "CustomerOrders"));
        Assert.Contains(exported, m => m.Name == "platform.projections.lag_time");
        Assert.Contains(exported, m => m.Name == "platform.outbox.lag" && m.MeterName == PlatformObservability.EventStoreMeter);
        Assert.Contains(exported, m => m.Name == "platform.outbox.lag_time");
    }

    [SkippableFact]
    public async Task the_dead_letters_waiting_are_a_gauge_by_endpoint_and_state_while_it_is_observed()
    {
        // A queue prefix of its own: the gauge is process-wide, and other tests' runtimes have endpoints of the same names.
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory, configure: cfg =>
        {
            cfg.Transport.QueuePrefix = "gauge-" + Guid.NewGuid().ToString("N")[..8];
            cfg.Telemetry.LagInterval = TimeSpan.FromMilliseconds(50);
            cfg.Retries.ReplayPollInterval = TimeSpan.FromHours(1); // a requested letter stays requested
        });
        var endpoint = host.Options.CommandQueueName;
        var measured = new System.Collections.Concurrent.ConcurrentDictionary<(string?, string?), long>();
        using var listener = Listen("platform.dead_letters.waiting", "endpoint", "state", (tags, value) => measured[tags] = value);

        var letters = host.Services.GetRequiredService<DeadLetters.DeadLetterStore>();
        DeadLetters.DeadLetter Letter(DeadLetters.DeadLetterState state) => new(Guid.CreateVersion7(), "commands", endpoint, Guid.NewGuid().ToString("D"),
            typeof(ConfirmOrder).AssemblyQualifiedName!, null, null, null, null, "{}", "{}", "System.Exception", "failed", "failed", 3,
            DateTimeOffset.UtcNow, state, state == DeadLetters.DeadLetterState.Discarded ? "withdrawn" : null);
        await letters.AddAsync(Letter(DeadLetters.DeadLetterState.Dead));
        await letters.AddAsync(Letter(DeadLetters.DeadLetterState.Dead));
        await letters.AddAsync(Letter(DeadLetters.DeadLetterState.ReplayRequested));
        await letters.AddAsync(Letter(DeadLetters.DeadLetterState.Discarded));

        await Eventually.HoldsAsync(() =>
        {
            listener.RecordObservableInstruments();
            return Task.FromResult(measured.GetValueOrDefault((endpoint, "dead")) == 2 && measured.GetValueOrDefault((endpoint, "replay_requested")) == 1);
        }, "the gauge to count two Dead letters and one requested", state: () => Task.FromResult(string.Join(", ", measured.Select(m => $"{m.Key}={m.Value}"))));
    }

    [SkippableFact]
    public async Task a_projection_records_how_long_after_its_append_each_event_reached_the_read_model()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory, configure: cfg =>
        {
            cfg.Projections.MaxAttempts = 1_000;
            cfg.Projections.RetryDelay = TimeSpan.FromMilliseconds(100);
        });
        var latencies = new System.Collections.Concurrent.ConcurrentQueue<double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PlatformTelemetry.Name && instrument.Name == "platform.projections.latency")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "projection" && (string?)tag.Value == OrderSummaryProjection.ProjectionName)
                    latencies.Enqueue(value);
        });
        listener.Start();
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var consistency = host.Services.GetRequiredService<ProjectionConsistency>();

        // The read model refuses the order's row for two seconds: the event reaches it at least that late.
        await Orders.ExecuteAsync(host.EventStore,
            "CREATE TRIGGER hold_back BEFORE INSERT ON order_summary BEGIN SELECT RAISE(ABORT, 'held back'); END");
        var accepted = await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 1));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await Orders.ExecuteAsync(host.EventStore, "DROP TRIGGER hold_back");
        Assert.Equal(ProjectionWait.Reached, await consistency.WaitForAsync(OrderSummaryProjection.ProjectionName, accepted, TimeSpan.FromSeconds(30)));

        Assert.Contains(latencies, seconds => seconds is >= 2 and < 60);
    }

    [SkippableFact]
    public async Task each_streaming_standby_of_the_store_has_its_replication_lag_as_a_gauge()
    {
        _ = Platform.Testing.RealServices.PostgresReplica; // the test services start one standby
        await using var host = await RuntimeHost.StartAsync(Store.Postgres, Transport.InMemory, configure: cfg =>
            cfg.Telemetry.LagInterval = TimeSpan.FromMilliseconds(50));
        var bytes = new System.Collections.Concurrent.ConcurrentDictionary<(string?, string?), long>();
        var seconds = new System.Collections.Concurrent.ConcurrentBag<double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PlatformTelemetry.Name && instrument.Name is "platform.store.replication_lag" or "platform.store.replication_lag_bytes")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? standby = null, address = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "standby") standby = tag.Value as string;
                else if (tag.Key == "address") address = tag.Value as string;
            }
            bytes[(standby, address)] = value;
        });
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => seconds.Add(value));
        listener.Start();
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(Guid.NewGuid(), 1));

        await Eventually.HoldsAsync(() =>
        {
            listener.RecordObservableInstruments();
            return Task.FromResult(bytes.Keys.Any(k => k.Item1 == "walreceiver" && k.Item2 == "127.0.0.1") && !seconds.IsEmpty);
        }, "the standby's lag to be measured", state: () => Task.FromResult(string.Join(", ", bytes.Select(b => $"{b.Key}={b.Value}"))));
        Assert.All(bytes.Values, value => Assert.True(value >= 0));
        Assert.All(seconds, value => Assert.True(value is >= 0 and < 60));
    }

    // A started listener of one instrument of the platform's meter: each measurement, with the values of two of its tags.
    static System.Diagnostics.Metrics.MeterListener Listen(string instrumentName, string firstTag, string secondTag,
        Action<(string?, string?), long> record)
    {
        var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PlatformTelemetry.Name && instrument.Name == instrumentName)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? first = null, second = null;
            foreach (var tag in tags)
            {
                if (tag.Key == firstTag)
                    first = tag.Value as string;
                else if (tag.Key == secondTag)
                    second = tag.Value as string;
            }
            record((first, second), value);
        });
        listener.Start();
        return listener;
    }

    [SkippableFact]
    public async Task every_failed_attempt_and_every_retry_is_counted_for_its_endpoint()
    {
        await using var host = await DeadLetterTests.StartAsync(Store.Sqlite, Transport.InMemory, immediate: 2, exponential: 1, TimeSpan.FromMilliseconds(20));
        var endpoint = host.Options.EventQueueName(typeof(PoisonableConsumer));
        var counted = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PlatformTelemetry.Name && instrument.Name is "platform.messages.failed" or "platform.messages.retried")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "endpoint" && Equals(tag.Value, endpoint))
                    counted.AddOrUpdate(instrument.Name, value, (_, total) => total + value);
            }
        });
        listener.Start();

        var poison = host.Services.GetRequiredService<PoisonSwitch>();
        var order = Guid.NewGuid();
        poison.Poison(order);
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(order, 3));
        var letters = host.Services.GetRequiredService<Platform.Runtime.DeadLetters.DeadLetterStore>();
        await DeadLetterTests.WaitForDeadLetterAsync(letters, order, l => l.Consumer == typeof(PoisonableConsumer).FullName);

        // 1 + 2 immediate + 1 exponential attempts failed; all but the last were retried.
        Assert.Equal((4, 4L, 3L), (poison.AttemptsOf(order), counted.GetValueOrDefault("platform.messages.failed"),
            counted.GetValueOrDefault("platform.messages.retried")));
    }

    [SkippableFact]
    public async Task a_refused_command_is_counted_by_command_and_reason_and_still_thrown_to_its_caller()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory);
        var counted = new System.Collections.Concurrent.ConcurrentDictionary<(string?, string?), long>();
        using var listener = Listen("platform.commands.refused", "command", "reason",
            (tags, value) => counted.AddOrUpdate(tags, value, (_, total) => total + value));

        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var id = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(id, 1));
        await dispatcher.DispatchAsync(new ConfirmOrder(id));
        await Assert.ThrowsAsync<Platform.Commands.CommandRejectedException>(() => dispatcher.DispatchAsync(new ConfirmOrder(id)));
        await Assert.ThrowsAsync<Platform.Commands.CommandRejectedException>(() => dispatcher.DispatchAsync(new ConfirmOrder(id)));
        await Assert.ThrowsAsync<Platform.Commands.CommandValidationException>(() => dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 2) with { Items = [] }));

        // At least: the meter is the process's, and other test classes run beside this one.
        Assert.True(counted.GetValueOrDefault(("ConfirmOrder", "rejected")) >= 2, string.Join(", ", counted));
        Assert.True(counted.GetValueOrDefault(("PlaceOrder", "invalid")) >= 1, string.Join(", ", counted));
        Assert.All(counted.Keys, key => Assert.Contains(key.Item2, new[] { "rejected", "invalid" }));
    }

    [SkippableFact]
    public async Task what_a_consumer_logs_carries_the_events_correlation_causation_and_message_ids_and_its_endpoint()
    {
        var logs = new ScopeCapturingLoggerProvider();
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory,
            services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs),
            cfg => cfg.AddEventConsumer<LoggingOrderConsumer>());
        var id = Guid.NewGuid();
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(id, 1));

        await Eventually.HoldsAsync(() => Task.FromResult(logs.Lines.Any(l => l.Message == "order " + id.ToString("D"))), "the consumer's log line");
        var placed = (await Orders.ReadAllEventsAsync(host.EventStore)).Single(e => e.Event is OrderPlaced && e.StreamId == id.ToString("D"));
        var line = logs.Lines.First(l => l.Message == "order " + id.ToString("D"));
        Assert.NotNull(placed.CorrelationId);
        Assert.Equal(placed.CorrelationId, line.Scope["CorrelationId"]);
        Assert.Equal(placed.Metadata.CausationId, line.Scope["CausationId"]);
        Assert.Equal(placed.EventId.ToString("D"), line.Scope["MessageId"]);
        Assert.Equal(host.Options.EventQueueName(typeof(LoggingOrderConsumer)), line.Scope["Endpoint"]);
    }

    static List<T> Snapshot<T>(LockedCollection<T> collection) => collection.Snapshot();

    // The in-memory exporters add from their export threads while the test reads: a plain list
    // copied during an Add threw "Destination array was not long enough" (a CI run). Every access
    // here takes one lock.
    sealed class LockedCollection<T> : ICollection<T>
    {
        readonly List<T> _items = [];

        public int Count { get { lock (_items) return _items.Count; } }

        public bool IsReadOnly => false;

        public List<T> Snapshot() { lock (_items) return [.. _items]; }

        public void Add(T item) { lock (_items) _items.Add(item); }

        public void Clear() { lock (_items) _items.Clear(); }

        public bool Contains(T item) { lock (_items) return _items.Contains(item); }

        public void CopyTo(T[] array, int arrayIndex) { lock (_items) _items.CopyTo(array, arrayIndex); }

        public bool Remove(T item) { lock (_items) return _items.Remove(item); }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    static IEnumerable<MetricPoint> Points(IEnumerable<Metric> metrics, string name)
    {
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (var point in metric.GetMetricPoints())
                yield return point;
        }
    }

    static string? Tag(MetricPoint point, string name)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == name)
                return tag.Value?.ToString();
        }
        return null;
    }

    // Counters are cumulative; other tests in this process add to the same instruments, so the
    // sums are lower bounds.
    static long Sum(IEnumerable<Metric> metrics, string name, string? tag = null, string? value = null) =>
        Points(metrics, name).Where(p => tag is null || Tag(p, tag) == value).Select(p => p.GetSumLong()).DefaultIfEmpty().Max();
}

/// <summary>Logs a line per order placed.</summary>
public sealed class LoggingOrderConsumer(Microsoft.Extensions.Logging.ILogger<LoggingOrderConsumer> logger) : IConsumer<OrderPlaced>
{
    public Task Consume(ConsumeContext<OrderPlaced> context)
    {
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "order {StreamId}", Messaging.EventHeaders.From(context).StreamId);
        return Task.CompletedTask;
    }
}

/// <summary>Keeps every line logged with the properties of the scopes it was logged in, as a structured log sink reads them.</summary>
public sealed class ScopeCapturingLoggerProvider : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ISupportExternalScope
{
    readonly System.Collections.Concurrent.ConcurrentQueue<(string Message, Dictionary<string, object?> Scope)> _lines = new();
    Microsoft.Extensions.Logging.IExternalScopeProvider? _scopes;

    public IReadOnlyList<(string Message, Dictionary<string, object?> Scope)> Lines => [.. _lines];

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(this);

    public void SetScopeProvider(Microsoft.Extensions.Logging.IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    sealed class Logger(ScopeCapturingLoggerProvider provider) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes?.Push(state);

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            provider._scopes?.ForEachScope((value, properties) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, item) in pairs)
                        properties[key] = item;
                }
            }, scope);
            provider._lines.Enqueue((formatter(state, exception), scope));
        }
    }
}
