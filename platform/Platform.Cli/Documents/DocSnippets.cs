using System.Text;
using System.Text.RegularExpressions;

namespace Platform.Cli.Documents;

/// <summary>
/// Code blocks in the Markdown documentation that are copies of real files, so that a sample in a
/// guide is code that compiles and is tested. In a document,
/// <c>&lt;!-- snippet: path/from/repository/root#region-name --&gt;</c> is followed by a fenced block;
/// in the source, the region is the lines between <c>#region region-name</c> and <c>#endregion</c>
/// (C#) or <c># region region-name</c> and <c># endregion</c> (YAML, shell). Without <c>#region-name</c>
/// the whole file is meant. Region marker lines are left out and the common indentation removed.
/// </summary>
internal static partial class DocSnippets
{
    /// <summary>Something wrong with one marked block: <c>file(line): message</c>.</summary>
    public sealed record Problem(string Document, int Line, string Message)
    {
        public override string ToString() => $"{Document}({Line}): {Message}";
    }

    /// <summary>What a run found: every marked block, the ones that differ, and what could not be read.</summary>
    public sealed record Report(int Blocks, IReadOnlyList<Problem> Stale, IReadOnlyList<Problem> Broken, IReadOnlyList<string> Rewritten);

    /// <summary>The documents checked: every Markdown file under <c>docs/</c> and the README.</summary>
    public static IEnumerable<string> Documents(string root)
    {
        var docs = Path.Combine(root, "docs");
        var files = Directory.Exists(docs) ? Directory.GetFiles(docs, "*.md", SearchOption.AllDirectories).ToList() : [];
        var readme = Path.Combine(root, "README.md");
        if (File.Exists(readme)) files.Add(readme);
        return files.Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
    }

    /// <summary>Compares every marked block with its source; with <paramref name="fix"/> rewrites the blocks that differ.</summary>
    public static Report Run(string root, bool fix)
    {
        var blocks = 0;
        var stale = new List<Problem>();
        var broken = new List<Problem>();
        var rewritten = new List<string>();
        foreach (var document in Documents(root))
        {
            var path = Path.Combine(root, document);
            var lines = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n').ToList();
            var changed = false;
            for (var i = 0; i < lines.Count; i++)
            {
                var marker = Marker().Match(lines[i]);
                if (!marker.Success) continue;
                blocks++;
                var source = marker.Groups["path"].Value;
                var region = marker.Groups["region"].Success ? marker.Groups["region"].Value : null;
                var expected = Extract(root, source, region, out var error);
                if (expected is null)
                {
                    broken.Add(new Problem(document, i + 1, error!));
                    continue;
                }

                var open = i + 1;
                if (open >= lines.Count || !lines[open].StartsWith("```", StringComparison.Ordinal))
                {
                    stale.Add(new Problem(document, i + 1, $"no fenced code block follows the snippet marker of {marker.Groups["target"].Value}"));
                    if (fix)
                    {
                        lines.InsertRange(open, ["```" + Language(source), .. expected, "```"]);
                        changed = true;
                    }
                    continue;
                }
                var close = open + 1;
                while (close < lines.Count && lines[close] != "```") close++;
                if (close >= lines.Count)
                {
                    broken.Add(new Problem(document, open + 1, "the fenced code block is not closed with ``` on a line of its own"));
                    continue;
                }
                var actual = lines.GetRange(open + 1, close - open - 1);
                if (actual.SequenceEqual(expected, StringComparer.Ordinal)) continue;
                stale.Add(new Problem(document, open + 1,
                    $"the block differs from {marker.Groups["target"].Value} (first difference at block line {FirstDifference(actual, expected)})"));
                if (fix)
                {
                    lines.RemoveRange(open + 1, close - open - 1);
                    lines.InsertRange(open + 1, expected);
                    changed = true;
                }
            }
            if (changed)
            {
                File.WriteAllText(path, string.Join("\n", lines), new UTF8Encoding(false));
                rewritten.Add(document);
            }
        }
        return new Report(blocks, stale, broken, rewritten);
    }

    /// <summary>The lines a marker stands for, or null with <paramref name="error"/>.</summary>
    public static List<string>? Extract(string root, string source, string? region, out string? error)
    {
        var file = Path.GetFullPath(Path.Combine(root, source));
        if (!File.Exists(file))
        {
            error = $"snippet source {source} does not exist; give a path from the repository root";
            return null;
        }
        var lines = File.ReadAllText(file).ReplaceLineEndings("\n").Split('\n');
        var selected = new List<string>();
        if (region is null)
        {
            selected.AddRange(lines.Where(line => RegionStart(line) is null && !IsRegionEnd(line)));
        }
        else
        {
            var start = Array.FindIndex(lines, line => RegionStart(line) == region);
            if (start < 0)
            {
                error = $"{source} has no region '{region}' (#region {region} in C#, # region {region} in YAML)";
                return null;
            }
            var depth = 1;
            var end = start + 1;
            for (; end < lines.Length; end++)
            {
                if (RegionStart(lines[end]) is not null) depth++;
                else if (IsRegionEnd(lines[end]) && --depth == 0) break;
                else selected.Add(lines[end]);
            }
            if (depth != 0)
            {
                error = $"{source}: region '{region}' has no end (#endregion or # endregion)";
                return null;
            }
        }
        while (selected.Count > 0 && selected[^1].Trim().Length == 0) selected.RemoveAt(selected.Count - 1);
        while (selected.Count > 0 && selected[0].Trim().Length == 0) selected.RemoveAt(0);
        var indent = selected.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        error = null;
        return selected.Select(l => l.Length >= indent ? l[indent..].TrimEnd() : l.TrimEnd()).ToList();
    }

    static string? RegionStart(string line)
    {
        var match = RegionLine().Match(line);
        return match.Success ? match.Groups["name"].Value : null;
    }

    static bool IsRegionEnd(string line) => EndRegionLine().IsMatch(line);

    static int FirstDifference(List<string> actual, List<string> expected)
    {
        var i = 0;
        while (i < actual.Count && i < expected.Count && actual[i] == expected[i]) i++;
        return i + 1;
    }

    static string Language(string source) => Path.GetExtension(source).ToLowerInvariant() switch
    {
        ".cs" => "csharp",
        ".yaml" or ".yml" => "yaml",
        ".sh" => "bash",
        ".json" => "json",
        ".csproj" or ".props" or ".targets" or ".xml" => "xml",
        _ => "",
    };

    [GeneratedRegex(@"^<!-- snippet: (?<target>(?<path>[^#\s]+)(#(?<region>[A-Za-z0-9_.-]+))?) -->\s*$")]
    private static partial Regex Marker();

    [GeneratedRegex(@"^\s*(#region|# region)\s+(?<name>[A-Za-z0-9_.-]+)\s*$")]
    private static partial Regex RegionLine();

    [GeneratedRegex(@"^\s*(#endregion|# endregion)\b")]
    private static partial Regex EndRegionLine();
}
