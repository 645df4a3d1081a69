using Platform.Definitions;
using Platform.Definitions.Checks;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;

namespace Platform.Cli;

/// <summary>A directory of definition files and its lock file, loaded and checked together.</summary>
internal sealed class DefinitionWorkspace
{
    private DefinitionWorkspace(string directory, DefinitionSet set, LockFile? lockFile, List<DiagnosticInfo> diagnostics)
    {
        Directory = directory;
        Set = set;
        LockFile = lockFile;
        Diagnostics = diagnostics;
    }

    public string Directory { get; }

    public DefinitionSet Set { get; }

    public LockFile? LockFile { get; }

    /// <summary>Loader and set checks; the lock comparison is separate because 'lock' treats it differently.</summary>
    public List<DiagnosticInfo> Diagnostics { get; }

    public string LockPath => Path.Combine(Directory, LockFileFormat.FileName);

    public bool HasErrors => Diagnostics.Exists(d => d.Severity == DiagnosticSeverity.Error);

    public static DefinitionWorkspace Load(string directory)
    {
        var diagnostics = new List<DiagnosticInfo>();
        var files = new List<DefinitionFile>();
        var paths = System.IO.Directory.EnumerateFiles(directory, "*.*", SearchOption.AllDirectories)
            .Where(path => path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            var result = DefinitionLoader.Load(path, File.ReadAllBytes(path));
            diagnostics.AddRange(result.Diagnostics);
            if (result.Value is not null) files.Add(result.Value);
        }

        var checkedSet = DefinitionSet.Check(files);
        diagnostics.AddRange(checkedSet.Diagnostics);

        LockFile? lockFile = null;
        var lockPath = Path.Combine(directory, LockFileFormat.FileName);
        if (File.Exists(lockPath))
        {
            var lockResult = LockFileFormat.Read(lockPath, File.ReadAllText(lockPath));
            diagnostics.AddRange(lockResult.Diagnostics);
            lockFile = lockResult.Value;
        }
        return new DefinitionWorkspace(directory, checkedSet.Value!, lockFile, diagnostics);
    }

    public static void Print(IEnumerable<DiagnosticInfo> diagnostics, TextWriter output)
    {
        foreach (var diagnostic in diagnostics) output.WriteLine(diagnostic.ToCanonicalString());
    }
}
