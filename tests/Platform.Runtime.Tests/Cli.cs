using System.CommandLine;

namespace Platform.Runtime.Tests;

/// <summary>Runs a <c>platform</c> command in the test process against a runtime's store, as an operator would.</summary>
static class Cli
{
    /// <summary><c>--store</c> and <c>--connection</c> of the host's store.</summary>
    public static string[] Store(RuntimeHost host) =>
        ["--store", host.Options.Store.Provider.ToString().ToLowerInvariant(), "--connection", host.Options.Store.ConnectionString];

    /// <summary>Parses and runs <paramref name="args"/> against <paramref name="commands"/>; output and errors in one string.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(Command[] commands, params string[] args)
    {
        var output = new StringWriter();
        var root = new RootCommand();
        foreach (var command in commands)
            root.Subcommands.Add(command);
        var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }
}
