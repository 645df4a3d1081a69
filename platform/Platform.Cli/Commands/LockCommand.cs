using System.CommandLine;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Workspace;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform lock &lt;dir&gt;</c>: the one deliberate step that publishes new event versions and
/// records the sagas as deployed. It refuses while the definitions have errors or a published
/// version was edited, deleted or changed incompatibly: those must be fixed in the YAML, not
/// accepted. A saga change that strands stored instances is accepted with
/// <c>--accept-saga-changes</c>, once none of them is left.
/// </summary>
internal static class LockCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files." };
        var acceptSagaChanges = new Option<bool>("--accept-saga-changes")
        {
            Description = "Also record a removed saga or saga state, or saga data old instances cannot be read as (PLT0806-PLT0808), once no stored instance needs them.",
        };
        var command = new Command("lock", "Publish every event version as declared, and the sagas' states and data, into definitions.lock.json.") { directory, acceptSagaChanges };
        command.SetAction(parseResult => Run(parseResult.GetValue(directory)!, parseResult.InvocationConfiguration.Output, parseResult.GetValue(acceptSagaChanges)));
        return command;
    }

    public static int Run(DirectoryInfo directory, TextWriter output, bool acceptSagaChanges = false)
    {
        if (!DefinitionsFolder.Exists(directory, output)) return 1;
        var definitions = DefinitionDirectory.Load(directory.ToString());
        var outcome = definitions.Lock(acceptSagaChanges);
        if (!outcome.Written)
        {
            foreach (var error in outcome.Errors) output.WriteLine(error.ToCanonicalString());
            output.WriteLine($"lock not updated: {outcome.Errors.Count} errors. Fix them and run 'platform lock' again.");
            if (outcome.Errors.All(CompatibilityLock.IsSagaChange))
                output.WriteLine("Each strands the saga instances stored before the change. Once 'platform sagas list' shows none of them left, " +
                                 "run 'platform lock <dir> --accept-saga-changes'.");
            return 1;
        }
        var versions = outcome.LockFile!.Events.Sum(e => e.Versions.Count);
        output.WriteLine(outcome.Changed
            ? $"{definitions.LockPath}: {outcome.LockFile.Events.Count} events, {versions} versions, {outcome.LockFile.Sagas?.Count ?? 0} saga(s) locked"
            : $"{definitions.LockPath}: up to date");
        return 0;
    }
}
