using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Platform.Generators.Tests;

public class Incrementality
{
    static readonly string[] TrackedSteps =
    {
        TrackingNames.ParseDefinition, TrackingNames.CheckDefinitions, TrackingNames.BuildTypeIndex,
        TrackingNames.EmitDefinition, TrackingNames.BuildRegistration,
    };

    [Fact]
    public void editing_one_file_leaves_every_step_of_the_other_files_cached_or_unchanged()
    {
        var texts = GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions);
        var compilation = GeneratorHarness.CreateCompilation();
        GeneratorDriver driver = GeneratorHarness.CreateDriver(texts);
        driver = driver.RunGenerators(compilation);

        // An edit that changes what this projection does, but no name or field shape others see.
        var edited = texts.Single(t => t.Path.EndsWith("order-summary.yaml", StringComparison.Ordinal));
        var newText = edited.GetText()!.ToString().Replace("status: Confirmed", "status: Accepted");
        Assert.NotEqual(edited.GetText()!.ToString(), newText);
        driver = driver.ReplaceAdditionalText(edited, new GeneratorHarness.InMemoryText(edited.Path, newText));
        driver = driver.RunGenerators(compilation.Clone());

        var result = driver.GetRunResult().Results.Single();
        var emits = result.TrackedSteps[TrackingNames.EmitDefinition];
        var parses = result.TrackedSteps[TrackingNames.ParseDefinition];
        Assert.Equal(texts.Length, emits.Length);

        // One step run per file, in input order: the edited file is the only one that changed.
        var editedIndex = texts.IndexOf(edited);
        for (var i = 0; i < texts.Length; i++)
        {
            var emitReasons = emits[i].Outputs.Select(o => o.Reason).ToList();
            var parseReasons = parses[i].Outputs.Select(o => o.Reason).ToList();
            if (i == editedIndex)
            {
                Assert.Contains(IncrementalStepRunReason.Modified, parseReasons);
                Assert.Contains(IncrementalStepRunReason.Modified, emitReasons);
            }
            else
            {
                Assert.All(parseReasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{texts[i].Path} parse: {r}"));
                Assert.All(emitReasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{texts[i].Path} emit: {r}"));
            }
        }
        // The cross-file index and the registration do not change for such an edit either.
        Assert.All(result.TrackedSteps[TrackingNames.BuildTypeIndex].SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        Assert.All(result.TrackedSteps[TrackingNames.BuildRegistration].SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
    }

    [Fact]
    public void no_symbol_syntax_node_or_compilation_is_reachable_from_a_step_output()
    {
        var (driver, _, _) = GeneratorHarness.Run(GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions));
        var result = driver.GetRunResult().Results.Single();
        foreach (var step in TrackedSteps)
        foreach (var run in result.TrackedSteps[step])
        foreach (var (value, _) in run.Outputs)
            AssertNoCompilerObjects(value, step, new HashSet<object>(ReferenceEqualityComparer.Instance), 0);
    }

    static readonly Type[] Forbidden = { typeof(ISymbol), typeof(SyntaxNode), typeof(Compilation), typeof(SemanticModel), typeof(AdditionalText), typeof(SyntaxTree) };

    static void AssertNoCompilerObjects(object? value, string step, HashSet<object> seen, int depth)
    {
        if (value is null || depth > 40) return;
        var type = value.GetType();
        Assert.False(Forbidden.Any(f => f.IsAssignableFrom(type)), $"step {step} holds a {type.FullName}");
        Assert.DoesNotContain("YamlDotNet", type.FullName ?? string.Empty);
        if (type.IsPrimitive || value is string || type.IsEnum || !seen.Add(value)) return;
        if (value is IEnumerable sequence)
        {
            foreach (var item in sequence) AssertNoCompilerObjects(item, step, seen, depth + 1);
            return;
        }
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            AssertNoCompilerObjects(field.GetValue(value), step, seen, depth + 1);
    }
}
