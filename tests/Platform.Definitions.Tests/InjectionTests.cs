using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Platform.Definitions.Checks;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>
/// Hostile text put where names go: either the checks report an error, or every string the
/// generator may paste into C# is still an identifier (or dotted identifiers). Literal values
/// (ValueExpr.Text of literals, wire type names, descriptions) are excluded: those are emitted
/// through <see cref="CSharpLiteral"/>.
/// </summary>
public sealed class InjectionTests
{
    private static readonly Regex Name = new(@"^([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)?$", RegexOptions.CultureInvariant);
    private static readonly Regex Token = new(@"(?<=[\s{\[,:])[A-Za-z_][A-Za-z0-9_]*(?=[\s,}\]:])", RegexOptions.CultureInvariant);
    private static readonly string[] Hostile = { "\"a b\"", "\"x;y\"", "'q\"r'", "\"new()\"", "\"A.B C\"", "\"z\\u0000\"", "\"\u0410bc\"" };

    [Fact]
    public void hostile_names_either_fail_the_checks_or_never_reach_a_name_position()
    {
        var random = new Random(7);
        var sources = Directory.GetFiles(Paths.OrdersDefinitions, "*.yaml").Order(StringComparer.Ordinal).ToArray();
        var texts = sources.Select(File.ReadAllText).ToArray();
        int clean = 0, rejected = 0;
        for (var i = 0; i < 1500; i++)
        {
            var index = random.Next(texts.Length);
            var matches = Token.Matches(texts[index]);
            var match = matches[random.Next(matches.Count)];
            var mutated = texts[index].Substring(0, match.Index) + Hostile[random.Next(Hostile.Length)] + texts[index].Substring(match.Index + match.Length);

            var loaded = DefinitionLoader.Load(sources[index], mutated);
            if (loaded.Value is null || loaded.HasErrors)
            {
                rejected++;
                continue;
            }
            var files = Corpus.Orders.Where(f => f.Path != sources[index]).Append(loaded.Value).ToList();
            var result = DefinitionSet.Check(files);
            if (result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
            {
                rejected++;
                continue;
            }
            clean++;
            foreach (var (where, text) in NamePositions(loaded.Value, "file"))
            {
                Assert.True(Name.IsMatch(text), $"mutation {i} of {Path.GetFileName(sources[index])} put '{text}' at {where} without an error");
            }
        }
        // Both outcomes must occur, or the test no longer probes anything.
        Assert.True(clean > 50 && rejected > 500, $"clean {clean}, rejected {rejected}");
    }

    private static IEnumerable<(string Where, string Text)> NamePositions(object? node, string where)
    {
        switch (node)
        {
            case null:
                yield break;
            case string text:
                yield return (where, text);
                yield break;
            case ValueExpr { Kind: ValueKind.Literal }:
                yield break;
            case ValueExpr expression:
                foreach (var segment in expression.Path.Concat(expression.Factor)) yield return (where + ".Path", segment);
                yield break;
            case IEnumerable items:
                var i = 0;
                foreach (var item in items)
                {
                    foreach (var found in NamePositions(item, $"{where}[{i++}]")) yield return found;
                }
                yield break;
        }
        var type = node.GetType();
        if (type.IsPrimitive || type.IsEnum || node is decimal || node is SourceSpan) yield break;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.Name is "EqualityContract" or "Path" or "TypeName" or "Description" or "Display" or "Text") continue;
            foreach (var found in NamePositions(property.GetValue(node), where + "." + property.Name)) yield return found;
        }
    }
}
