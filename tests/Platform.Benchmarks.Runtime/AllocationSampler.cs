using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Platform.Benchmarks.Runtime;

/// <summary>
/// Which types a run allocates most (PLATFORM_BENCH_ALLOCATIONS=1): the runtime's allocation
/// ticks, one per about 100 KB allocated, each naming the type whose allocation crossed the mark,
/// so the counts sample allocations by size.
/// </summary>
sealed class AllocationSampler : EventListener
{
    readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

    public static AllocationSampler? StartIfAsked() =>
        Environment.GetEnvironmentVariable("PLATFORM_BENCH_ALLOCATIONS") == "1" ? new AllocationSampler() : null;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1); // GC
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
            return;
        var type = e.Payload![e.PayloadNames.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(type, amount, (_, total) => total + amount);
    }

    /// <summary>Prints the types that took most of what was allocated since the last call, per event, and starts over.</summary>
    public void Report(int events, int top = 40)
    {
        var snapshot = _bytes.ToArray();
        _bytes.Clear();
        foreach (var (type, bytes) in snapshot.OrderByDescending(t => t.Value).Take(top))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      {bytes / (double)events,8:F0} B/event  {type}"));
    }
}
