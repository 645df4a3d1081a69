using System.CommandLine;
using System.Text.Json;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Workspace;

namespace Platform.Cli.Commands;

/// <summary><c>platform validate &lt;dir&gt;</c>: every check, including the compatibility lock.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files (searched recursively) and definitions.lock.json; a service folder means its definitions/ subfolder." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: the counts and every diagnostic with path, line, column, severity, code and message." };
        var command = new Command("validate", "Check the definitions and print diagnostics as path(line,col): severity CODE: message. Exit 1 on errors.") { directory, json };
        command.SetAction(parseResult => Run(parseResult.GetValue(directory)!, parseResult.InvocationConfiguration.Output, parseResult.GetValue(json)));
        return command;
    }

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static int Run(DirectoryInfo directory, TextWriter output, bool json = false)
    {
        if (!DefinitionsFolder.Exists(directory, output)) return 1;
        var definitions = DefinitionDirectory.Load(directory.ToString());
        var diagnostics = definitions.Validate();
        var errors = diagnostics.Count(d => d.Severity == DiagnosticSeverity.Error);
        var warnings = diagnostics.Count(d => d.Severity == DiagnosticSeverity.Warning);
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                files = definitions.Set.Files.Count,
                errors,
                warnings,
                diagnostics = diagnostics.Select(d => new
                {
                    path = d.Span.Path, line = d.Span.StartLine, column = d.Span.StartColumn, endLine = d.Span.EndLine,
                    endColumn = d.Span.EndColumn, severity = d.Severity.ToString().ToLowerInvariant(), code = d.Code, message = d.Message,
                }),
            }, Json));
            return errors > 0 ? 1 : 0;
        }
        foreach (var diagnostic in diagnostics) output.WriteLine(diagnostic.ToCanonicalString());
        output.WriteLine($"{definitions.Set.Files.Count} files, {errors} errors, {warnings} warnings");
        return errors > 0 ? 1 : 0;
    }
}
