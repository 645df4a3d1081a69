using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// What the checks accept, the generator turns into code that compiles: every one-line deletion and
/// every swap of one type name for another in the torture definitions and the Orders example, run
/// through the generator; where the checks report no error, the output must compile. Found when it
/// was written: copies by name (a command's field into its event, saga data into a command, an
/// event into a reaction's command, the start event into saga data) whose types the checks did
/// not compare when the target was optional, an upcast default over a field whose type changed, a
/// saga whose key its data does not declare, a projection without handlers.
/// </summary>
public class CheckedMeansCompiles
{
    [Fact]
    public void every_mutation_the_checks_accept_compiles()
    {
        var sets = new List<(string Name, ImmutableArray<AdditionalText> Texts)>();
        foreach (var type in new[] { typeof(SagaTorture), typeof(EnumTorture), typeof(ConditionTorture), typeof(FeatureTorture), typeof(ProjectionKeyTorture) })
            sets.Add((type.Name, (ImmutableArray<AdditionalText>)type.GetProperty("Texts", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!));
        sets.Add(("Orders", GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions)));
        var findings = new List<string>();
        var runs = 0;
        foreach (var (name, texts) in sets)
        {
            for (var f = 0; f < texts.Length; f++)
            {
                var lines = texts[f].GetText()!.ToString().Split('\n');
                // Type swaps: each occurrence of a type name replaced by another.
                var text = texts[f].GetText()!.ToString();
                foreach (var (from, to) in new[] { ("string", "int"), ("guid", "string"), ("decimal", "long"), ("int", "decimal"), ("timestamp", "date"), ("date", "timestamp"), ("long", "int"), ("guid", "long"), ("bool", "string"), ("double", "decimal") })
                {
                    var at = 0;
                    while ((at = text.IndexOf(from, at, StringComparison.Ordinal)) >= 0)
                    {
                        var before = at == 0 ? ' ' : text[at - 1];
                        var after = at + from.Length < text.Length ? text[at + from.Length] : ' ';
                        if (!char.IsLetterOrDigit(before) && !char.IsLetterOrDigit(after) && before != '$' && before != '.')
                        {
                            var edited = text[..at] + to + text[(at + from.Length)..];
                            var mutated = texts.SetItem(f, new GeneratorHarness.InMemoryText(texts[f].Path, edited));
                            runs++;
                            try
                            {
                                var (_, output, diagnostics) = GeneratorHarness.Run(mutated, GeneratorHarness.CreateCompilation("Shop.Fuzz"));
                                if (!diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
                                {
                                    var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(2).ToList();
                                    if (errors.Count > 0)
                                    {
                                        var line = text[..at].Count(c => c == '\n') + 1;
                                        findings.Add($"{name} {texts[f].Path} line {line} {from} -> {to}: {string.Join(" | ", errors)}");
                                    }
                                }
                            }
                            catch (Exception exception)
                            {
                                findings.Add($"{name} {texts[f].Path} {from}->{to} at {at}: THROWS {exception.GetType().Name}: {exception.Message}");
                            }
                        }
                        at += from.Length;
                    }
                }
                for (var i = 1; i < lines.Length; i++)
                {
                    if (string.IsNullOrWhiteSpace(lines[i]) || lines[i].TrimStart().StartsWith('#')) continue;
                    var edited = string.Join('\n', lines.Where((_, j) => j != i));
                    var mutated = texts.SetItem(f, new GeneratorHarness.InMemoryText(texts[f].Path, edited));
                    runs++;
                    try
                    {
                        var (_, output, diagnostics) = GeneratorHarness.Run(mutated, GeneratorHarness.CreateCompilation("Shop.Fuzz"));
                        if (diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)) continue;
                        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(2).ToList();
                        if (errors.Count > 0)
                            findings.Add($"{name} {texts[f].Path} without line {i + 1} `{lines[i].Trim()}`: {string.Join(" | ", errors)}");
                    }
                    catch (Exception exception)
                    {
                        findings.Add($"{name} {texts[f].Path} without line {i + 1}: THROWS {exception.GetType().Name}: {exception.Message}");
                    }
                }
            }
        }
        Assert.True(runs > 900, $"only {runs} mutations"); // the corpora are not empty
        Assert.True(findings.Count == 0, $"{findings.Count} of {runs} mutations pass the checks and do not compile:\n" + string.Join("\n", findings));
    }
}
