using Platform.Definitions.Diagnostics;
using Platform.Definitions.Workspace;

namespace Platform.Cli;

/// <summary>The <c>&lt;dir&gt;</c> argument of the commands that read definitions.</summary>
internal static class DefinitionsFolder
{
    /// <summary>False after one line on <paramref name="error"/> when the folder is missing.</summary>
    public static bool Exists(DirectoryInfo directory, TextWriter error)
    {
        if (directory.Exists) return true;
        error.WriteLine($"{directory.FullName}: error: the folder does not exist; pass the folder that holds the definition files.");
        return false;
    }

    /// <summary>
    /// Loads definitions that have no errors, for commands that produce something from them; otherwise
    /// prints the errors and one line saying to fix them first, and returns null.
    /// </summary>
    public static DefinitionDirectory? LoadWithoutErrors(DirectoryInfo directory, TextWriter error)
    {
        if (!Exists(directory, error)) return null;
        var definitions = DefinitionDirectory.Load(directory.ToString());
        var errors = definitions.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count == 0) return definitions;
        foreach (var diagnostic in errors) error.WriteLine(diagnostic.ToCanonicalString());
        error.WriteLine("error: the definitions have errors; nothing was written. Fix them first (see `platform validate`).");
        return null;
    }
}
