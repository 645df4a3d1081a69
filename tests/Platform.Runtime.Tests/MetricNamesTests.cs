using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Platform.EventStore.Storage;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The Grafana dashboard (docs/dashboards/platform.json) and the alert rules of docs/runtime.md query
/// the runtime's metrics by the names the OpenTelemetry Prometheus exporter gives them: each name
/// they use must be one an instrument of the runtime or the store is exported as, so a renamed
/// metric or a typo fails here, not on an empty panel or an alert that never fires.
/// </summary>
public sealed partial class MetricNamesTests
{
    [SkippableFact]
    public async Task every_metric_the_dashboard_and_the_alert_rules_query_is_one_the_runtime_exports()
    {
        var instruments = new ConcurrentDictionary<string, Instrument>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name is PlatformTelemetry.Name or "Platform.EventStore")
                instruments[instrument.Name] = instrument;
        };
        listener.Start();
        // Instruments live in static fields, made when their type is first used, and the relay's
        // gauges in its constructor, which a running host calls.
        foreach (var type in new[] { typeof(PlatformTelemetry).Assembly, typeof(SqlEventStore).Assembly }.SelectMany(a => a.GetTypes()))
            if (!type.ContainsGenericParameters && type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                    .Any(field => typeof(Instrument).IsAssignableFrom(field.FieldType)))
                RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        await using (await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory))
        {
        }
        var exported = instruments.Values.SelectMany(PrometheusNames).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("platform_messages_failed_total", exported);
        Assert.Contains("platform_outbox_lag_time_seconds", exported);

        var queries = DashboardQueries().Concat(AlertRules()).ToList();
        Assert.True(queries.Count(q => q.Where.StartsWith("docs/dashboards", StringComparison.Ordinal)) >= 20, "the dashboard's queries");
        Assert.True(queries.Count(q => q.Where.StartsWith("docs/runtime.md", StringComparison.Ordinal)) >= 8, "the alert rules");
        var unknown = queries
            .SelectMany(q => MetricName().Matches(q.Expression).Select(m => (q.Where, Metric: m.Value)))
            .Where(q => !exported.Contains(q.Metric))
            .Select(q => $"{q.Where}: {q.Metric}")
            .Distinct()
            .ToList();
        Assert.True(unknown.Count == 0, "metrics no instrument is exported as:\n" + string.Join("\n", unknown)
            + "\nexported: " + string.Join(", ", exported.Order(StringComparer.Ordinal)));
    }

    // OpenTelemetry's Prometheus naming: dots to underscores, the unit as a suffix unless the name
    // ends with it ({annotations} dropped), _total on counters, _bucket/_sum/_count on histograms.
    static IEnumerable<string> PrometheusNames(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var unit = instrument.Unit switch { "s" => "seconds", "By" => "bytes", "1" => "ratio", _ => null };
        if (unit is not null && !name.EndsWith("_" + unit, StringComparison.Ordinal))
            name += "_" + unit;
        var kind = instrument.GetType().GetGenericTypeDefinition();
        if (kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>))
            return [name + "_total"];
        if (kind == typeof(Histogram<>))
            return [name + "_bucket", name + "_sum", name + "_count"];
        return [name];
    }

    static IEnumerable<(string Where, string Expression)> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot, "docs", "dashboards", "platform.json")));
        var found = new List<(string, string)>();
        void Walk(JsonElement element, string where)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                if (element.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
                    where = "docs/dashboards/platform.json, " + title.GetString();
                foreach (var property in element.EnumerateObject())
                    if (property.Name is "expr" or "query" && property.Value.ValueKind == JsonValueKind.String)
                        found.Add((where, property.Value.GetString()!));
                    else
                        Walk(property.Value, where);
            }
            else if (element.ValueKind == JsonValueKind.Array)
                foreach (var item in element.EnumerateArray())
                    Walk(item, where);
        }
        Walk(dashboard.RootElement, "docs/dashboards/platform.json");
        return found;
    }

    // The alert table of docs/runtime.md: | alert | `expression` | runbook section |
    static IEnumerable<(string Where, string Expression)> AlertRules()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot, "docs", "runtime.md"));
        var start = Array.FindIndex(lines, line => line.StartsWith("| alert | expression |", StringComparison.Ordinal));
        Assert.True(start >= 0, "docs/runtime.md has the alert table");
        return lines.Skip(start + 2).TakeWhile(line => line.StartsWith('|'))
            .SelectMany(line => Backticked().Matches(line).Select(m => ("docs/runtime.md, alert " + line.Split('|')[1].Trim(), m.Groups[1].Value)));
    }

    static string RepositoryRoot
    {
        get
        {
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
                if (File.Exists(Path.Combine(folder.FullName, "Platform.sln")))
                    return folder.FullName;
            throw new InvalidOperationException($"no Platform.sln above {AppContext.BaseDirectory}");
        }
    }

    [GeneratedRegex(@"\bplatform_[a-z0-9_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();
}
