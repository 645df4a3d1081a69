using System.Diagnostics;
using System.Text;
using Platform.Definitions.Checks;
using Platform.Definitions.Loading;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>
/// Checking grows linearly with the size of a definition. Compared by ratio (4x the input must
/// cost well under 16x the time), so the test holds on a slow or busy machine.
/// </summary>
public sealed class ScaleTests
{
    [Fact]
    public void checking_a_message_with_thousands_of_fields_is_not_quadratic()
    {
        var small = CheckTime(Wide(4_000));
        var large = CheckTime(Wide(16_000));
        Assert.True(large.TotalMilliseconds < 10 * Math.Max(small.TotalMilliseconds, 5), $"4,000 fields: {small.TotalMilliseconds:F0} ms, 16,000 fields: {large.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void thousands_of_unknown_references_are_reported_without_quadratic_suggestions()
    {
        var small = CheckTime(UnknownReferences(4_000), expectedDiagnostics: 4_000);
        var large = CheckTime(UnknownReferences(16_000), expectedDiagnostics: 16_000);
        Assert.True(large.TotalMilliseconds < 10 * Math.Max(small.TotalMilliseconds, 5), $"4,000: {small.TotalMilliseconds:F0} ms, 16,000: {large.TotalMilliseconds:F0} ms");
    }

    private static TimeSpan CheckTime(string yaml, int expectedDiagnostics = 0)
    {
        var file = DefinitionLoader.Load("scale.yaml", yaml).Value!;
        var best = TimeSpan.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            var watch = Stopwatch.StartNew();
            var result = DefinitionSet.Check(new[] { file });
            watch.Stop();
            Assert.Equal(expectedDiagnostics, result.Diagnostics.Count);
            if (watch.Elapsed < best) best = watch.Elapsed;
        }
        return best;
    }

    /// <summary>A command and the event it emits, each with <paramref name="count"/> fields, all assigned.</summary>
    private static string Wide(int count)
    {
        var builder = new StringBuilder("aggregate: Wide\nnamespace: Shop.Wide\nid: { name: wideId, type: guid }\ncommands:\n  Make:\n    creates: true\n    fields:\n");
        for (var i = 0; i < count; i++) builder.Append("      f").Append(i).Append(": int\n");
        builder.Append("    emits:\n      Made:\n");
        for (var i = 0; i < count; i++) builder.Append("        g").Append(i).Append(": $f").Append(i).Append('\n');
        builder.Append("events:\n  Made:\n    fields:\n");
        for (var i = 0; i < count; i++) builder.Append("      g").Append(i).Append(": int\n");
        return builder.ToString();
    }

    private static string UnknownReferences(int count)
    {
        var builder = new StringBuilder("contracts: Refs\nnamespace: Shop.Refs\ntypes:\n");
        for (var i = 0; i < count; i++) builder.Append("  T").Append(i).Append(": { a: U").Append(i).Append(" }\n");
        return builder.ToString();
    }
}
