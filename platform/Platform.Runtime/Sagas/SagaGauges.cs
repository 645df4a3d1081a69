using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Configuration;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>
/// The gauges of what sagas leave in the database: <c>platform.sagas.instances</c>, unresolved
/// sagas by <c>saga</c> and <c>state</c> (an alert on <c>CompensationFailed</c> finds a failed
/// compensation without anyone running <c>platform sagas list</c>); <c>platform.scheduled.messages</c>
/// by <c>state</c> (<c>waiting</c>, <c>due</c>, <c>failing</c>) and <c>platform.scheduled.oldest_due_age</c>,
/// how long the oldest due timeout or outbox message has waited for delivery (above a poll
/// interval: no runtime delivers them, or deliveries fail). Read every <c>Telemetry:LagInterval</c>
/// while observed (two queries); every instance reads the same tables, so aggregate with max.
/// </summary>
sealed class SagaGauges(SagaRuntime runtime, PlatformOptions options, ILogger<SagaGauges> logger)
    : PolledGauge<SagaGauges, SagaGauges.Reading>(options, logger)
{
    internal sealed record Reading(IReadOnlyList<(string Saga, string State, long Count)> Sagas, ScheduledCount Scheduled, DateTimeOffset At);

    static readonly ObservableGauge<long> Instances = PlatformTelemetry.Meter.CreateObservableGauge(
        "platform.sagas.instances", () => Measured.SelectMany(r => r.Sagas.Select(s => new Measurement<long>(s.Count, new("saga", s.Saga), new("state", s.State)))),
        "{saga}", "Sagas not resolved by an operator, by saga and state, counted every Telemetry:LagInterval.");

    static readonly ObservableGauge<long> Scheduled = PlatformTelemetry.Meter.CreateObservableGauge(
        "platform.scheduled.messages", () => Measured.SelectMany(r => new[]
        {
            new Measurement<long>(r.Scheduled.Waiting, new KeyValuePair<string, object?>("state", "waiting")),
            new Measurement<long>(r.Scheduled.Due, new KeyValuePair<string, object?>("state", "due")),
            new Measurement<long>(r.Scheduled.Failing, new KeyValuePair<string, object?>("state", "failing")),
        }),
        "{message}", "Saga timeouts and outbox messages in scheduled_messages: not due yet, due and not delivered, last delivery failed.");

    static readonly ObservableGauge<double> OldestDueAge = PlatformTelemetry.Meter.CreateObservableGauge(
        "platform.scheduled.oldest_due_age", () => Measured.Select(r => new Measurement<double>(
            r.Scheduled.OldestDue is { } due ? Math.Max(0, (r.At - due).TotalSeconds) : 0)),
        "s", "Seconds since the oldest undelivered due timeout or outbox message became due (0 when none is due).");

    protected override bool Observed => Instances.Enabled || Scheduled.Enabled || OldestDueAge.Enabled;

    protected override string What => "count the sagas and scheduled messages";

    protected override async Task<IReadOnlyList<Reading>> ReadAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var sagas = await new SagaOperations(Options.Store.Provider, Options.Store.ConnectionString).CountUnresolvedAsync(cancellationToken).ConfigureAwait(false);
        var scheduled = await runtime.Scheduled.CountAsync(now, cancellationToken).ConfigureAwait(false);
        return [new Reading(sagas, scheduled, now)];
    }
}
