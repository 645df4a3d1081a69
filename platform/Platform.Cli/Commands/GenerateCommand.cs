using System.CommandLine;
using System.Text;
using Platform.Generators.Emit;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform generate &lt;dir&gt; --out &lt;dir&gt; [--check]</c>: the checked-in mode of the generator,
/// with the same emitters, so a service can commit its generated code for review.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "Folder with the definition files (searched recursively)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder the generated .g.cs files are written to.", Required = true };
        var check = new Option<bool>("--check") { Description = "Write nothing; exit 1 and list the files that differ when the folder is stale." };
        var assembly = new Option<string?>("--assembly-name") { Description = "The service's assembly name, which names the registration (default: the output folder's parent's name)." };
        var noServices = new Option<bool>("--no-service-collection") { Description = "Do not emit services.AddXDomain() (for services without Microsoft.Extensions.DependencyInjection)." };
        var noMassTransit = new Option<bool>("--no-masstransit") { Description = "Do not emit bus.AddXDomain() for sagas and reactions (for services without MassTransit)." };
        var command = new Command("generate", "Write the C# generated from the definitions, or check that the written files are current.")
        {
            directory, output, check, assembly, noServices, noMassTransit,
        };
        command.SetAction(parse => Run(
            parse.GetValue(directory)!, parse.GetValue(output)!, parse.GetValue(check), parse.GetValue(assembly), !parse.GetValue(noServices), !parse.GetValue(noMassTransit),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(DirectoryInfo directory, DirectoryInfo output, bool check, string? assemblyName, bool withServices, bool withMassTransit, TextWriter stdout, TextWriter stderr)
    {
        var workspace = DefinitionsFolder.LoadWithoutErrors(directory, stderr);
        if (workspace is null) return 1;

        var files = workspace.Set.Files.Select(file => (file, File.ReadAllText(file.Path))).ToList();
        assemblyName ??= output.Parent?.Name ?? "Definitions";
        var sources = SetEmitter.Emit(files, assemblyName, withServices, withMassTransit);
        var expected = sources.ToDictionary(s => s.HintName, s => s.Text, StringComparer.Ordinal);
        var existing = output.Exists
            ? output.GetFiles("*.g.cs").ToDictionary(f => f.Name, f => File.ReadAllText(f.FullName), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

        var stale = expected.Where(p => !existing.TryGetValue(p.Key, out var text) || text != p.Value).Select(p => p.Key)
            .Concat(existing.Keys.Where(name => !expected.ContainsKey(name)))
            .Order(StringComparer.Ordinal)
            .ToList();

        if (check)
        {
            foreach (var name in stale)
                stderr.WriteLine($"{Path.Combine(output.ToString(), name)}: error PLT9002: generated code is stale; run `platform generate {directory} --out {output}` and commit the result.");
            stdout.WriteLine(stale.Count == 0 ? $"{expected.Count} generated files are current" : $"{stale.Count} of {expected.Count} generated files differ");
            return stale.Count == 0 ? 0 : 1;
        }

        output.Create();
        foreach (var name in stale)
        {
            var path = Path.Combine(output.FullName, name);
            if (expected.TryGetValue(name, out var text)) File.WriteAllText(path, text, new UTF8Encoding(false));
            else File.Delete(path);
        }
        stdout.WriteLine($"{expected.Count} files generated in {output}, {stale.Count} changed");
        return 0;
    }
}
