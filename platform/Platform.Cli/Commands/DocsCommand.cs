using System.CommandLine;
using Platform.Cli.Documents;
using Platform.Definitions.Schema;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform docs</c>: the documentation that is generated or checked rather than written by hand.
/// <c>docs yaml</c> renders the YAML reference from the JSON Schema, <c>docs configuration</c> the
/// configuration reference from <c>PlatformOptions</c>, and <c>docs snippets</c> checks (or with
/// <c>--fix</c> refreshes) every code block in the docs that is marked as a copy of a real file.
/// <c>scripts/drift-check.sh</c> runs all three.
/// </summary>
internal static class DocsCommand
{
    public static Command Create()
    {
        var command = new Command("docs", "Generate the YAML and configuration references, and check the code snippets in the docs.")
        {
            Yaml(),
            Configuration(),
            Snippets(),
        };
        return command;
    }

    static Command Yaml()
    {
        var output = new Option<FileInfo?>("--out") { Description = $"Markdown file to write (the committed copy is {YamlReference.RelativePath}); standard output otherwise." };
        var schema = new Option<FileInfo?>("--schema") { Description = $"The JSON Schema to describe; default the platform's own, which {PlatformSchema.RelativePath} is a copy of." };
        var command = new Command("yaml", "Write the YAML reference: every definition file kind and key, with types, required keys, allowed values and descriptions, from the JSON Schema.") { output, schema };
        command.SetAction(parse =>
        {
            var console = parse.InvocationConfiguration;
            string json;
            if (parse.GetValue(schema) is { } file)
            {
                if (!file.Exists)
                {
                    console.Error.WriteLine($"error: {file.FullName} does not exist; pass the JSON Schema file (e.g. {PlatformSchema.RelativePath}) or leave out --schema.");
                    return 1;
                }
                json = File.ReadAllText(file.FullName);
            }
            else
            {
                json = PlatformSchema.ToJson();
            }
            return DocumentCommands.Write(parse.GetValue(output), YamlReference.Render(json), console.Output);
        });
        return command;
    }

    static Command Configuration()
    {
        var output = new Option<FileInfo?>("--out") { Description = $"Markdown file to write (the committed copy is {ConfigurationReference.RelativePath}); standard output otherwise." };
        var command = new Command("configuration", "Write the configuration reference: every runtime setting with its platform.yaml key, configuration key, environment variable, values, default and description.") { output };
        command.SetAction(parse => DocumentCommands.Write(parse.GetValue(output), ConfigurationReference.Render(), parse.InvocationConfiguration.Output));
        return command;
    }

    static Command Snippets()
    {
        var root = new Option<DirectoryInfo?>("--root") { Description = "The repository root (default: the nearest folder above the current one that holds Platform.sln)." };
        var fix = new Option<bool>("--fix") { Description = "Rewrite the blocks that differ from their source instead of failing." };
        var command = new Command("snippets", "Check that every code block marked <!-- snippet: path#region --> in docs/**/*.md and README.md equals its source region. Exit 1 when one differs.") { root, fix };
        command.SetAction(parse =>
        {
            var console = parse.InvocationConfiguration;
            var folder = parse.GetValue(root)?.FullName ?? FindRoot(Directory.GetCurrentDirectory());
            if (folder is null || !Directory.Exists(folder))
            {
                console.Error.WriteLine("error: no repository root (a folder with Platform.sln) above the current folder; pass --root <folder>.");
                return 1;
            }
            var report = DocSnippets.Run(folder, parse.GetValue(fix));
            foreach (var problem in report.Broken)
                console.Error.WriteLine($"{problem}: error");
            foreach (var problem in report.Stale)
                console.Error.WriteLine(parse.GetValue(fix) ? $"{problem}: fixed" : $"{problem}: error: run `platform docs snippets --fix` (or scripts/drift-check.sh --fix)");
            console.Output.WriteLine($"{report.Blocks} snippets, {report.Stale.Count} {(parse.GetValue(fix) ? "refreshed" : "stale")}, {report.Broken.Count} broken");
            return report.Broken.Count > 0 || (report.Stale.Count > 0 && !parse.GetValue(fix)) ? 1 : 0;
        });
        return command;
    }

    static string? FindRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Platform.sln")))
                return directory.FullName;
        }
        return null;
    }
}
