using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Npgsql;
using Platform.Runtime.Configuration;

namespace Platform.Runtime;

/// <summary>
/// The gauges <c>platform.store.replication_lag</c> (seconds) and
/// <c>platform.store.replication_lag_bytes</c>: how far each streaming standby of the store's
/// PostgreSQL database is behind, by <c>standby</c> (its <c>application_name</c>) and
/// <c>address</c>, read from <c>pg_stat_replication</c> on the primary. A service that reads its
/// read models from a standby sees a command that much later (see
/// <see cref="Projections.ProjectionConsistency.ReadingFrom"/>). Measured every
/// <c>Telemetry:LagInterval</c> while a meter listener observes them; registered on PostgreSQL
/// only. The store's role needs <c>pg_monitor</c> (or to be superuser) to see the standbys.
/// </summary>
sealed class ReplicationLagGauge(PlatformOptions options, ILogger<ReplicationLagGauge> logger)
    : PolledGauge<ReplicationLagGauge, ReplicationLagGauge.Standby>(options, logger)
{
    internal sealed record Standby(string Name, string Address, double Seconds, long Bytes);

    static readonly ObservableGauge<double> Seconds = PlatformTelemetry.Meter.CreateObservableGauge(
        "platform.store.replication_lag", () => Measure(s => s.Seconds), "s",
        "How far behind the primary each streaming standby of the store's database replays, in seconds (0 while idle), by standby and address.");

    static readonly ObservableGauge<long> Bytes = PlatformTelemetry.Meter.CreateObservableGauge(
        "platform.store.replication_lag_bytes", () => Measure(s => s.Bytes), "By",
        "Write-ahead log the primary has written and each standby has not replayed yet, by standby and address.");

    static IEnumerable<Measurement<T>> Measure<T>(Func<Standby, T> value) where T : struct =>
        Measured.Select(s => new Measurement<T>(value(s), new("standby", s.Name), new("address", s.Address)));

    protected override bool Observed => Seconds.Enabled || Bytes.Enabled;

    protected override string What => "read pg_stat_replication";

    protected override async Task<IReadOnlyList<Standby>> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(Options.Store.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // replay_lag is null while nothing is written: the standby is then caught up.
        command.CommandText = """
            SELECT application_name, COALESCE(host(client_addr), 'local'),
                   COALESCE(EXTRACT(EPOCH FROM replay_lag)::float8, 0),
                   COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint
            FROM pg_stat_replication
            """;
        var standbys = new List<Standby>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            standbys.Add(new Standby(reader.GetString(0), reader.GetString(1), reader.GetDouble(2), reader.GetInt64(3)));
        return standbys;
    }
}
