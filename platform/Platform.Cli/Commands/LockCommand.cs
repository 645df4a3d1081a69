using System.CommandLine;
using Platform.Definitions.Workspace;

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
        if (!DefinitionsFolder.Exists(directory, output)) return 1;
        var definitions = DefinitionDirectory.Load(directory.ToString());
        var outcome = definitions.Lock();
        if (!outcome.Written)
        {
            foreach (var error in outcome.Errors) output.WriteLine(error.ToCanonicalString());
            output.WriteLine($"lock not updated: {outcome.Errors.Count} errors. Fix them and run 'platform lock' again.");
            return 1;
        }
        var versions = outcome.LockFile!.Events.Sum(e => e.Versions.Count);
        output.WriteLine(outcome.Changed
            ? $"{definitions.LockPath}: {outcome.LockFile.Events.Count} events, {versions} versions locked"
            : $"{definitions.LockPath}: up to date");
        return 0;
    }
}
