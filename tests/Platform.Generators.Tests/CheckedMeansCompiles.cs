using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// What the checks accept, the generator turns into code that compiles: every one-line deletion,
/// every swap of one type name for another, every optional mark toggled, every <c>$reference</c>
/// replaced by another and every keyword swapped for a sibling, in the torture definitions, the
/// Orders example and the first guide's definitions, run through the generator; where the checks report no error, the output must compile. Found when it
/// was written: copies by name (a command's field into its event, saga data into a command, an
/// event into a reaction's command, the start event into saga data) whose types the checks did
/// not compare when the target was optional, an upcast default over a field whose type changed, a
/// saga whose key its data does not declare, a projection without handlers, and an optional value
/// of a value type assigned to a required field (which now takes the type's default when absent).
/// </summary>
public class CheckedMeansCompiles
{
    [Fact]
    public void every_mutation_the_checks_accept_compiles()
    {
        var sets = new List<(string Name, ImmutableArray<AdditionalText> Texts)>();
        foreach (var type in new[] { typeof(SagaTorture), typeof(EnumTorture), typeof(ConditionTorture), typeof(FeatureTorture), typeof(ProjectionKeyTorture), typeof(EmitBranchTorture), typeof(OptionalValueTorture), typeof(DelayedReactionTorture), typeof(SagaSkipTorture), typeof(CommandMetadataTorture), typeof(ErasureTorture), typeof(MultiStartTorture), typeof(DeadlineTorture), typeof(CommandIdTorture) })
            sets.Add((type.Name, (ImmutableArray<AdditionalText>)type.GetProperty("Texts", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!));
        sets.Add(("Orders", GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions)));
        sets.Add(("FirstAggregate", GeneratorHarness.Load(Path.Combine(GeneratorHarness.RepositoryRoot, "tests", "Platform.Generators.Tests", "Guides", "FirstAggregate", "definitions"))));
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
                // Each $reference replaced by the next other one of the file (every pair cost a minute and found
                // nothing the rest did not), and each field type's optional mark toggled.
                var refs = System.Text.RegularExpressions.Regex.Matches(text, @"\$[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z]+)?").Select(m => m.Value).Distinct().ToList();
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"\$[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z]+)?"))
                {
                    if (refs.Count < 2) break;
                    var other = refs[(refs.IndexOf(m.Value) + 1) % refs.Count];
                    Explore(text[..m.Index] + other + text[(m.Index + m.Length)..], $"line {text[..m.Index].Count(c => c == '\n') + 1} {m.Value} -> {other}");
                }
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"(?<=: )(string|int|long|decimal|double|bool|guid|timestamp|date)(\?)?(?=[,} \n])"))
                {
                    var edited = text[..m.Index] + (m.Groups[2].Success ? m.Groups[1].Value : m.Value + "?") + text[(m.Index + m.Length)..];
                    Explore(edited, $"line {text[..m.Index].Count(c => c == '\n') + 1} {m.Value} optional toggled");
                }
                // Keywords swapped for their siblings: actions, handler outcomes, operators, updates, literals.
                foreach (var (from, to) in new[] { ("insert", "upsert"), ("upsert", "update"), ("update", "delete"), ("delete", "insert"), ("compensate", "complete"), ("complete", "ignore"), ("gt:", "nonEmpty:"), ("lt:", "in:"), ("eq:", "notIn:"), ("increment:", "add:"), ("add:", "remove:"), ("remove:", "increment:"), ("Placed", "Shipped"), ("true", "false"), ("count(", "sum("), ("list<", "map<string, ") })
                {
                    var at = 0;
                    while ((at = text.IndexOf(from, at, StringComparison.Ordinal)) >= 0)
                    {
                        Explore(text[..at] + to + text[(at + from.Length)..], $"line {text[..at].Count(c => c == '\n') + 1} {from} -> {to}");
                        at += from.Length;
                    }
                }
                void Explore(string edited, string what)
                {
                    var mutated = texts.SetItem(f, new GeneratorHarness.InMemoryText(texts[f].Path, edited));
                    runs++;
                    try
                    {
                        var (_, output, diagnostics) = GeneratorHarness.Run(mutated, GeneratorHarness.CreateCompilation("Shop.Fuzz"));
                        if (diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)) return;
                        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(2).ToList();
                        if (errors.Count > 0) findings.Add($"{name} {texts[f].Path} {what}: {string.Join(" | ", errors)}");
                    }
                    catch (Exception exception)
                    {
                        findings.Add($"{name} {texts[f].Path} {what}: THROWS {exception.GetType().Name}: {exception.Message}");
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
        Assert.True(runs > 1_200, $"only {runs} mutations"); // the corpora are not empty
        Assert.True(findings.Count == 0, $"{findings.Count} of {runs} mutations pass the checks and do not compile:\n" + string.Join("\n", findings));
    }
}
