using System.CommandLine;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Workspace;

namespace Platform.Cli.Commands;

/// <summary><c>platform validate &lt;dir&gt;</c>: every check, including the compatibility lock.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files (searched recursively) and definitions.lock.json; a service folder means its definitions/ subfolder." };
        var command = new Command("validate", "Check the definitions and print diagnostics as path(line,col): severity CODE: message. Exit 1 on errors.") { directory };
        command.SetAction(parseResult => Run(parseResult.GetValue(directory)!, parseResult.InvocationConfiguration.Output));
        return command;
    }

    public static int Run(DirectoryInfo directory, TextWriter output)
    {
        if (!DefinitionsFolder.Exists(directory, output)) return 1;
        var definitions = DefinitionDirectory.Load(directory.ToString());
        var diagnostics = definitions.Validate();
        foreach (var diagnostic in diagnostics) output.WriteLine(diagnostic.ToCanonicalString());

        var errors = diagnostics.Count(d => d.Severity == DiagnosticSeverity.Error);
        var warnings = diagnostics.Count(d => d.Severity == DiagnosticSeverity.Warning);
        output.WriteLine($"{definitions.Set.Files.Count} files, {errors} errors, {warnings} warnings");
        return errors > 0 ? 1 : 0;
    }
}
