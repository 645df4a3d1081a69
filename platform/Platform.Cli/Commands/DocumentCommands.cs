using System.CommandLine;
using System.Text;
using System.Text.Json;
using Platform.Cli.Documents;
using Platform.Definitions.Workspace;

namespace Platform.Cli.Commands;

/// <summary>
/// Documentation drawn from the definitions: <c>platform diagram</c> (Mermaid state diagrams),
/// <c>platform asyncapi</c> (AsyncAPI 3.0 of the integration events) and
/// <c>platform schema --events</c> (a JSON Schema per stored event version).
/// </summary>
internal static class DocumentCommands
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Diagram()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files." };
        var output = new Option<FileInfo?>("--out") { Description = "Markdown file to write; standard output otherwise." };
        var command = new Command("diagram", "Write Mermaid state diagrams of every aggregate lifecycle and saga, compensation paths included.") { directory, output };
        command.SetAction(parse => WithDefinitions(parse.GetValue(directory)!, parse.InvocationConfiguration, definitions =>
            Write(parse.GetValue(output), MermaidDiagrams.Markdown(definitions.Set), parse.InvocationConfiguration.Output)));
        return command;
    }

    /// <summary><c>platform catalog DIR [--out FILE] [--check]</c>: the event catalogue as Markdown.</summary>
    public static Command Catalog()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files." };
        var output = new Option<FileInfo?>("--out") { Description = "Markdown file to write; standard output otherwise." };
        var check = new Option<bool>("--check") { Description = "Write nothing; exit 1 when --out differs from what would be written (for CI)." };
        var command = new Command("catalog",
            "Write the event catalogue: every event's kind, wire name, fields, earlier versions and their upcasts, the commands that emit it and the projections, sagas and reactions that consume it.")
        { directory, output, check };
        command.SetAction(parse => WithDefinitions(parse.GetValue(directory)!, parse.InvocationConfiguration, definitions =>
        {
            var text = Documents.EventCatalog.Markdown(definitions.Set, definitions.Path);
            var file = parse.GetValue(output);
            if (!parse.GetValue(check))
                return Write(file, text, parse.InvocationConfiguration.Output);
            if (file is null)
            {
                parse.InvocationConfiguration.Error.WriteLine("error: --check needs --out <file>, the catalogue to compare.");
                return 1;
            }
            if (file.Exists && File.ReadAllText(file.FullName) == text)
                return 0;
            parse.InvocationConfiguration.Error.WriteLine($"error: {file.FullName} is not what 'platform catalog' writes now; run it without --check and commit the file.");
            return 1;
        }));
        return command;
    }

    public static Command AsyncApi()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files." };
        var output = new Option<FileInfo?>("--out") { Description = "JSON file to write; standard output otherwise." };
        var title = new Option<string?>("--title") { Description = "The document's title (default: the folder's name)." };
        var command = new Command("asyncapi", "Write an AsyncAPI 3.0 document of the integration events.") { directory, output, title };
        command.SetAction(parse => WithDefinitions(parse.GetValue(directory)!, parse.InvocationConfiguration, definitions =>
        {
            var document = AsyncApiDocument.Build(definitions.Set, parse.GetValue(title) ?? parse.GetValue(directory)!.Name + " integration events");
            return Write(parse.GetValue(output), document.ToJsonString(Indented) + "\n", parse.InvocationConfiguration.Output);
        }));
        return command;
    }

    /// <summary><c>platform schema --events DIR --out FOLDER</c>: one <c>type.vN.schema.json</c> per event version.</summary>
    public static int WriteEventSchemas(DirectoryInfo directory, FileInfo? output, InvocationConfiguration console)
    {
        if (output is null)
        {
            console.Error.WriteLine("error: --events needs --out <folder> for the schema files.");
            return 1;
        }
        return WithDefinitions(directory, console, definitions =>
        {
            var folder = new DirectoryInfo(output.FullName);
            folder.Create();
            var count = 0;
            foreach (var (name, schema) in Documents.EventSchemas.All(definitions.Set))
            {
                File.WriteAllText(Path.Combine(folder.FullName, name), schema.ToJsonString(Indented) + "\n", new UTF8Encoding(false));
                count++;
            }
            console.Output.WriteLine($"{count} event schemas written to {folder}");
            return 0;
        });
    }

    static int WithDefinitions(DirectoryInfo directory, InvocationConfiguration console, Func<DefinitionDirectory, int> action) =>
        DefinitionsFolder.LoadWithoutErrors(directory, console.Error) is { } definitions ? action(definitions) : 1;

    /// <summary>Writes a generated document to <paramref name="file"/> (UTF-8, no BOM), or to the output when none is given.</summary>
    internal static int Write(FileInfo? file, string text, TextWriter output)
    {
        if (file is null)
        {
            output.Write(text);
            return 0;
        }
        file.Directory?.Create();
        File.WriteAllText(file.FullName, text, new UTF8Encoding(false));
        output.WriteLine($"{file.FullName}: written");
        return 0;
    }
}
