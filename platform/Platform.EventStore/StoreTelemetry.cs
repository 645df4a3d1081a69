using System.Diagnostics.Metrics;

namespace Platform.EventStore;

/// <summary>The store's meter, <c>Platform.EventStore</c> (the runtime registers it with OpenTelemetry).</summary>
static class StoreTelemetry
{
    public static readonly Meter Meter = new("Platform.EventStore");

    public static readonly Histogram<int> AppendGroups = Meter.CreateHistogram<int>("platform.store.append_group", "{append}",
        "Appends of their own written by one statement and commit (PostgreSQL; see EventStoreOptions.ConcurrentAppends).");
}
