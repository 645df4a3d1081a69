using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Platform.Runtime;

/// <summary>
/// The runtime's activity source and meter, both named <c>Platform.Runtime</c>: subscribe to them
/// with OpenTelemetry (<c>AddSource</c> / <c>AddMeter</c>) or an <see cref="ActivityListener"/>.
/// </summary>
public static class PlatformTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "Platform.Runtime";

    /// <summary>Activities of command handling, publishing and projection batches.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>The runtime's counters.</summary>
    public static readonly Meter Meter = new(Name);

    internal static readonly Counter<long> EventsAppended = Meter.CreateCounter<long>(
        "platform.events.appended", "{event}", "Events commands appended to the store, by aggregate type.");

    internal static readonly Counter<long> CommandsHandled = Meter.CreateCounter<long>(
        "platform.commands.handled", "{command}", "Commands that appended their events.");

    internal static readonly Counter<long> CommandsRefused = Meter.CreateCounter<long>(
        "platform.commands.refused", "{command}", "Commands refused: rejected by their aggregate's rules, invalid, or sent with a version the aggregate is no longer at, by command and reason.");

    internal static readonly Counter<long> CommandDuplicatesSkipped = Meter.CreateCounter<long>(
        "platform.commands.duplicates_skipped", "{command}", "Commands delivered again after they were handled (their events found stored under the ids derived from the command's id), by command: answered, not run again.");

    internal static readonly Counter<long> ConcurrencyRetries = Meter.CreateCounter<long>(
        "platform.commands.concurrency_retries", "{retry}", "Commands run again after another writer saved the aggregate first.");

    internal static readonly Counter<long> EventsPublished = Meter.CreateCounter<long>(
        "platform.events.published", "{event}", "Stored events published on the bus by the outbox relay.");

    internal static readonly Counter<long> EventsConsumed = Meter.CreateCounter<long>(
        "platform.events.consumed", "{event}", "Events whose effects an idempotent consumer committed.");

    internal static readonly Counter<long> DuplicatesSkipped = Meter.CreateCounter<long>(
        "platform.events.duplicates_skipped", "{event}", "Redelivered events an idempotent consumer ignored through its inbox.");

    internal static readonly Counter<long> MessagesFailed = Meter.CreateCounter<long>(
        "platform.messages.failed", "{attempt}", "Attempts of a consumer endpoint that threw (each retry that fails counts), by endpoint and message type.");

    internal static readonly Counter<long> MessagesRetried = Meter.CreateCounter<long>(
        "platform.messages.retried", "{retry}", "Failed messages a consumer endpoint runs again (immediate and exponential retries), by endpoint.");

    internal static readonly Counter<long> ProjectionEventsApplied = Meter.CreateCounter<long>(
        "platform.projections.applied", "{event}", "Events the projection engine ran through a projection.");

    internal static readonly Histogram<double> ProjectionLatency = Meter.CreateHistogram<double>(
        "platform.projections.latency", "s",
        "Seconds from an event's append to the commit of the projection batch that applied it, by projection: how long a read model lags a command. Live projections only, not rebuilds.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });

    internal static readonly Counter<long> ProjectionsParked = Meter.CreateCounter<long>(
        "platform.projections.parked", "{projection}", "Projections stopped after failing on the same event MaxAttempts times.");

    internal static readonly Counter<long> ProjectionsRebuilt = Meter.CreateCounter<long>(
        "platform.projections.rebuilt", "{projection}",
        "Projections the runtime rebuilt at start because the build declares them differently from the one that built their table.");

    static readonly ConcurrentDictionary<Projections.ProjectionEngine, byte> LagSources = new();

    static readonly ObservableGauge<long> ProjectionLag = Meter.CreateObservableGauge(
        "platform.projections.lag", () => Measure(status => status.LagPositions), "{event}",
        "Global positions between the store's head and a projection's checkpoint, measured every Telemetry:LagInterval.");

    static readonly ObservableGauge<double> ProjectionLagTime = Meter.CreateObservableGauge(
        "platform.projections.lag_time", () => Measure(status => status.LagTime.TotalSeconds), "s",
        "Age of the oldest event a projection has not applied yet; 0 when caught up.");

    internal static bool LagObserved => ProjectionLag.Enabled || ProjectionLagTime.Enabled;

    internal static void AddLagSource(Projections.ProjectionEngine engine) => LagSources.TryAdd(engine, 0);

    internal static void RemoveLagSource(Projections.ProjectionEngine engine) => LagSources.TryRemove(engine, out _);

    static IEnumerable<Measurement<T>> Measure<T>(Func<Projections.ProjectionStatus, T> value) where T : struct =>
        LagSources.Keys.SelectMany(engine => engine.LastMeasuredStatus)
            .Select(status => new Measurement<T>(value(status), new KeyValuePair<string, object?>("projection", status.Name)));
}
