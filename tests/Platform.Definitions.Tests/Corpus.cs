using Platform.Definitions.Checks;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;

namespace Platform.Definitions.Tests;

/// <summary>
/// Loads and checks a file the way a service folder would be: together with the Orders example,
/// so invalid files can refer to its events and commands.
/// </summary>
internal static class Corpus
{
    private static readonly Lazy<List<DefinitionFile>> OrdersFiles = new(() =>
        Directory.GetFiles(Paths.OrdersDefinitions, "*.yaml")
            .Select(path => DefinitionLoader.Load(path, File.ReadAllBytes(path)).Value!)
            .ToList());

    public static IReadOnlyList<DefinitionFile> Orders => OrdersFiles.Value;

    /// <summary>Every diagnostic of loading <paramref name="path"/> and checking it beside the Orders example.</summary>
    public static List<DiagnosticInfo> Diagnose(string path, byte[] bytes)
    {
        var loaded = DefinitionLoader.Load(path, bytes);
        var diagnostics = new List<DiagnosticInfo>(loaded.Diagnostics);
        if (loaded.Value is not null)
        {
            var files = new List<DefinitionFile>(Orders) { loaded.Value };
            diagnostics.AddRange(DefinitionSet.Check(files).Diagnostics);
        }
        return diagnostics;
    }

    public static List<DiagnosticInfo> Diagnose(string path, string text) => Diagnose(path, System.Text.Encoding.UTF8.GetBytes(text));

    public static string Format(DiagnosticInfo diagnostic) => $"{diagnostic.Code}@{diagnostic.Span.StartLine}:{diagnostic.Span.StartColumn}";
}
