using System.CommandLine;
using Platform.Definitions.Schema;

namespace Platform.Cli.Commands;

/// <summary><c>platform schema [--out file]</c>: the JSON Schema editors use for the YAML files.</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var output = new Option<FileInfo>("--out") { Description = $"Write to this file (the committed copy is {PlatformSchema.RelativePath}); standard output otherwise." };
        var command = new Command("schema", "Write the JSON Schema of the definition files.") { output };
        command.SetAction(parseResult => Run(parseResult.GetValue(output), parseResult.InvocationConfiguration.Output));
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
