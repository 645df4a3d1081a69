using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// The gauge <c>platform.dead_letters.waiting</c>: the letters not discarded, by <c>endpoint</c>
/// and <c>state</c> (<c>dead</c>, <c>replay_requested</c>), as <c>platform status</c> counts them,
/// so an alert can fire while letters wait and not only when one is written. Counted every
/// <c>Telemetry:LagInterval</c> while a meter listener observes the gauge, like the projections'
/// lag; the callback reads the last count and never touches the database. Every instance counts
/// the same table: aggregate across instances with max, not sum.
/// </summary>
sealed class DeadLetterGauge(DeadLetterStore store, PlatformOptions options, ILogger<DeadLetterGauge> logger)
    : PolledGauge<DeadLetterGauge, DeadLetterCount>(options, logger)
{
    static readonly ObservableGauge<long> Waiting = PlatformTelemetry.Meter.CreateObservableGauge(
        "platform.dead_letters.waiting", Measure, "{message}",
        "Dead letters not discarded, by endpoint and state (dead, replay_requested), counted every Telemetry:LagInterval.");

    static IEnumerable<Measurement<long>> Measure() => Measured.SelectMany(count => new[]
    {
        new Measurement<long>(count.Dead, new("endpoint", count.Endpoint), new("state", "dead")),
        new Measurement<long>(count.ReplayRequested, new("endpoint", count.Endpoint), new("state", "replay_requested")),
    });

    protected override bool Observed => Waiting.Enabled;

    protected override string What => "count the dead letters";

    protected override async Task<IReadOnlyList<DeadLetterCount>> ReadAsync(CancellationToken cancellationToken) =>
        await store.CountByEndpointAsync(cancellationToken).ConfigureAwait(false);
}
