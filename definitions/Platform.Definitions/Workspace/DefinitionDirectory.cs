using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Platform.Definitions.Checks;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;

namespace Platform.Definitions.Workspace;

/// <summary>
/// A folder of definition files and its lock file, as <c>platform validate</c> and <c>platform lock</c>
/// see it. Not for the source generator, which gets its files from the compiler, not the disk.
/// </summary>
public sealed class DefinitionDirectory
{
    private DefinitionDirectory(string path, DefinitionSet set, LockFile? lockFile, List<DiagnosticInfo> diagnostics)
    {
        Path = path;
        Set = set;
        LockFile = lockFile;
        Diagnostics = diagnostics;
    }

    public string Path { get; }

    public DefinitionSet Set { get; }

    public LockFile? LockFile { get; }

    /// <summary>Loader, set and lock-file reading diagnostics; the lock comparison is <see cref="Validate"/>'s.</summary>
    public IReadOnlyList<DiagnosticInfo> Diagnostics { get; }

    public string LockPath => System.IO.Path.Combine(Path, LockFileFormat.FileName);

    /// <summary>The folder a service keeps its definitions in, by convention.</summary>
    public const string ConventionalFolder = "definitions";

    /// <summary>
    /// Loads every *.yaml and *.yml below <paramref name="path"/> in ordinal path order. A service
    /// folder (one with a <c>definitions/</c> subfolder, like <c>examples/Orders</c>) means that
    /// subfolder, so the service's other YAML (runtime configuration) is not taken for definitions.
    /// </summary>
    public static DefinitionDirectory Load(string path)
    {
        var conventional = System.IO.Path.Combine(path, ConventionalFolder);
        if (Directory.Exists(conventional)) path = conventional;

        var diagnostics = new List<DiagnosticInfo>();
        var files = new List<DefinitionFile>();
        var paths = Directory.EnumerateFiles(path, "*.*", SearchOption.AllDirectories)
            .Where(file => file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .OrderBy(file => file, StringComparer.Ordinal);
        foreach (var file in paths)
        {
            var result = DefinitionLoader.Load(file, File.ReadAllBytes(file));
            diagnostics.AddRange(result.Diagnostics);
            if (result.Value is not null) files.Add(result.Value);
        }

        var checkedSet = DefinitionSet.Check(files);
        diagnostics.AddRange(checkedSet.Diagnostics);

        LockFile? lockFile = null;
        var lockPath = System.IO.Path.Combine(path, LockFileFormat.FileName);
        if (File.Exists(lockPath))
        {
            var lockResult = LockFileFormat.Read(lockPath, File.ReadAllText(lockPath));
            diagnostics.AddRange(lockResult.Diagnostics);
            lockFile = lockResult.Value;
        }
        return new DefinitionDirectory(path, checkedSet.Value!, lockFile, diagnostics);
    }

    /// <summary>Everything <c>validate</c> reports: the checks, then the lock comparison when the checks pass.</summary>
    public IReadOnlyList<DiagnosticInfo> Validate()
    {
        var result = new List<DiagnosticInfo>(Diagnostics);
        if (!result.Any(d => d.Severity == DiagnosticSeverity.Error)) result.AddRange(CompatibilityLock.Check(Set, LockFile));
        // One file's problems together, top to bottom, whichever phase found them.
        return result
            .OrderBy(d => d.Span.Path, StringComparer.Ordinal)
            .ThenBy(d => d.Span.StartLine)
            .ThenBy(d => d.Span.StartColumn)
            .ThenBy(d => d.Code, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Publishes every declared version and saga, unless there are errors (including edits of
    /// published versions, deletions and incompatible changes), which are returned instead. A saga
    /// change that strands stored instances (a removed saga or state, data they cannot be read as) is
    /// accepted only with <paramref name="acceptSagaChanges"/>: the operator has checked that no
    /// stored instance needs what was removed.
    /// </summary>
    public LockOutcome Lock(bool acceptSagaChanges = false)
    {
        var blocking = Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        blocking.AddRange(CompatibilityLock.Check(Set, LockFile).Where(d => d.Severity == DiagnosticSeverity.Error
            && !(acceptSagaChanges && CompatibilityLock.IsSagaChange(d))));
        if (blocking.Count > 0) return new LockOutcome(false, false, null, blocking);

        var lockFile = CompatibilityLock.Accept(Set, LockPath);
        var text = LockFileFormat.Write(lockFile);
        var changed = !File.Exists(LockPath) || File.ReadAllText(LockPath) != text;
        if (changed) File.WriteAllText(LockPath, text);
        return new LockOutcome(true, changed, lockFile, blocking);
    }
}

/// <summary>What <see cref="DefinitionDirectory.Lock"/> did.</summary>
public sealed class LockOutcome
{
    public LockOutcome(bool written, bool changed, LockFile? lockFile, IReadOnlyList<DiagnosticInfo> errors)
    {
        Written = written;
        Changed = changed;
        LockFile = lockFile;
        Errors = errors;
    }

    public bool Written { get; }

    public bool Changed { get; }

    public LockFile? LockFile { get; }

    public IReadOnlyList<DiagnosticInfo> Errors { get; }
}
