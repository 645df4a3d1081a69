using System.CommandLine;
using Platform.Definitions.Schema;

namespace Platform.Cli.Commands;

/// <summary><c>platform schema [--out file]</c>: the JSON Schema editors use for the YAML files.</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var output = new Option<FileInfo>("--out") { Description = $"Write to this file (the committed copy is {PlatformSchema.RelativePath}); standard output otherwise. With --events: the folder to write to." };
        var events = new Option<DirectoryInfo?>("--events") { Description = "Instead, write a JSON Schema per stored event version of the definitions in this folder (what a schema registry holds) into --out." };
        var command = new Command("schema", "Write the JSON Schema of the definition files, or with --events the schemas of the events they declare.") { output, events };
        command.SetAction(parseResult => parseResult.GetValue(events) is { } definitions
            ? DocumentCommands.WriteEventSchemas(definitions, parseResult.GetValue(output), parseResult.InvocationConfiguration)
            : Run(parseResult.GetValue(output), parseResult.InvocationConfiguration.Output));
        return command;
    }

    public static int Run(FileInfo? file, TextWriter output)
    {
        var json = PlatformSchema.ToJson();
        if (file is null)
        {
            output.Write(json);
            return 0;
        }
        file.Directory?.Create();
        File.WriteAllText(file.FullName, json);
        output.WriteLine($"{file.FullName}: written");
        return 0;
    }
}
