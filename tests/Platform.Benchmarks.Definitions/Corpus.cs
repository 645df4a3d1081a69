using System.Text;
using System.Text.RegularExpressions;
using Platform.Definitions.Loading;

namespace Platform.Benchmarks.Definitions;

/// <summary>
/// 500 definition files built from the Orders example: each group is a renamed copy of its seven
/// files (so names stay unique across the set and every cross-file reference resolves), and the
/// contracts files carry extra versioned events so the total is about 50,000 lines.
/// </summary>
internal static class Corpus
{
    public const int FileCount = 500;
    public const int TargetLines = 50_000;

    public static List<(string Path, string Text)> Build(string ordersFolder)
    {
        // Files others depend on first, so the last, partial group still resolves every reference.
        string[] first = ["order.yaml", "payments.yaml", "inventory.yaml"];
        var sources = Directory.GetFiles(ordersFolder, "*.yaml")
            .Select(path => (Name: Path.GetFileName(path), Text: File.ReadAllText(path)))
            .OrderBy(source => Array.IndexOf(first, source.Name) is var index && index >= 0 ? index : first.Length)
            .ThenBy(source => source.Name, StringComparer.Ordinal)
            .ToList();
        var names = DeclaredNames(sources);
        var pattern = new Regex(@"\b(" + string.Join("|", names.OrderByDescending(n => n.Length).Select(Regex.Escape)) + @")\b", RegexOptions.CultureInvariant);

        var baseLines = 0;
        var contractsFiles = 0;
        for (var i = 0; i < FileCount; i++)
        {
            var source = sources[i % sources.Count];
            baseLines += Lines(source.Text);
            if (source.Text.Contains("\ncontracts:", StringComparison.Ordinal)) contractsFiles++;
        }
        const int linesPerExtraEvent = 8;
        var extraEventsPerContracts = Math.Max(0, (TargetLines - baseLines) / (contractsFiles * linesPerExtraEvent));

        var files = new List<(string, string)>(FileCount);
        for (var i = 0; i < FileCount; i++)
        {
            var group = i / sources.Count;
            var source = sources[i % sources.Count];
            var text = pattern.Replace(source.Text, match => match.Value + "G" + group);
            text = text.Replace("type: shop.", $"type: g{group}.shop.", StringComparison.Ordinal);
            if (text.Contains("\ncontracts:", StringComparison.Ordinal)) text = AddEvents(text, group, i, extraEventsPerContracts);
            files.Add(($"/bench/g{group}/{source.Name}", text));
        }
        return files;
    }

    public static int Lines(string text) => text.Count(c => c == '\n');

    private static string AddEvents(string text, int group, int file, int count)
    {
        var builder = new StringBuilder(text);
        for (var k = 0; k < count; k++)
        {
            builder.Append($"  AuditEntryG{group}F{file}N{k}:\n");
            builder.Append($"    type: g{group}.audit.f{file}.entry-{k}\n");
            builder.Append("    version: 2\n");
            builder.Append("    fields: { orderId: guid, note: string, amount: decimal, at: timestamp }\n");
            builder.Append("    previous:\n");
            builder.Append("      - version: 1\n");
            builder.Append("        fields: { orderId: guid, note: string, amount: decimal }\n");
            builder.Append("        upcast: { at: { default: \"2020-01-01T00:00:00Z\" } }\n");
        }
        return builder.ToString();
    }

    /// <summary>Every name that must be unique across the set, read with the loader itself.</summary>
    private static HashSet<string> DeclaredNames(List<(string Name, string Text)> sources)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, text) in sources)
        {
            var file = DefinitionLoader.Load(name, text).Value ?? throw new InvalidOperationException(name + " does not load");
            if (file.Kind != Platform.Definitions.Model.DefinitionKind.Reactions) names.Add(file.Name);
            foreach (var type in file.Types) names.Add(type.Name);
            foreach (var type in file.Enums) names.Add(type.Name);
            foreach (var command in file.Commands) names.Add(command.Name);
            foreach (var definition in file.Events) names.Add(definition.Name);
            foreach (var reaction in file.Reactions) names.Add(reaction.Name);
        }
        return names;
    }
}
