using System.CommandLine;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Diagnostics;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform lock &lt;dir&gt;</c>: the one deliberate step that publishes new event versions.
/// It refuses while the definitions have errors or a published version was edited, deleted or
/// changed incompatibly: those must be fixed in the YAML, not accepted.
/// </summary>
internal static class LockCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files." };
        var command = new Command("lock", "Publish every event version as declared into definitions.lock.json.") { directory };
        command.SetAction(parseResult => Run(parseResult.GetValue(directory)!, parseResult.InvocationConfiguration.Output));
        return command;
    }

    public static int Run(DirectoryInfo directory, TextWriter output)
    {
        if (!directory.Exists)
        {
            output.WriteLine($"{directory.FullName}: error: the folder does not exist; pass the folder that holds the definition files.");
            return 1;
        }
        var workspace = DefinitionWorkspace.Load(directory.ToString());
        var blocking = workspace.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        blocking.AddRange(CompatibilityLock.Check(workspace.Set, workspace.LockFile).Where(d => d.Severity == DiagnosticSeverity.Error));
        if (blocking.Count > 0)
        {
            DefinitionWorkspace.Print(blocking, output);
            output.WriteLine($"lock not updated: {blocking.Count} errors. Fix them and run 'platform lock' again.");
            return 1;
        }

        var lockFile = CompatibilityLock.Accept(workspace.Set, workspace.LockPath);
        var text = LockFileFormat.Write(lockFile);
        var previous = File.Exists(workspace.LockPath) ? File.ReadAllText(workspace.LockPath) : null;
        if (previous == text)
        {
            output.WriteLine($"{workspace.LockPath}: up to date");
            return 0;
        }
        File.WriteAllText(workspace.LockPath, text);
        var versions = lockFile.Events.Sum(e => e.Versions.Count);
        output.WriteLine($"{workspace.LockPath}: {lockFile.Events.Count} events, {versions} versions locked");
        return 0;
    }
}
