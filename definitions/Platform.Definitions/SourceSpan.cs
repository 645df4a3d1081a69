using System;

namespace Platform.Definitions;

/// <summary>
/// Where a definition node sits in its YAML file. Lines and columns are 1-based as YamlDotNet
/// reports them (Roslyn's <c>LinePosition</c> is 0-based: subtract one). Offsets are 0-based
/// character indexes into the text, end exclusive, so a generator can build a <c>TextSpan</c>.
/// </summary>
public readonly record struct SourceSpan(
    string Path,
    int StartLine,
    int StartColumn,
    int EndLine,
    int EndColumn,
    int StartOffset,
    int EndOffset)
{
    public static SourceSpan None(string path) => new(path, 1, 1, 1, 1, 0, 0);

    public static SourceSpan At(string path, int line, int column, int offset) =>
        new(path, line, column, line, column, offset, offset);

    public override string ToString() => $"{Path}({StartLine},{StartColumn})";
}

/// <summary>A value and the diagnostics produced while computing it.</summary>
public sealed record Result<T>(T? Value, EquatableArray<Diagnostics.DiagnosticInfo> Diagnostics)
    where T : class
{
    public bool HasErrors
    {
        get
        {
            foreach (var diagnostic in Diagnostics)
            {
                if (diagnostic.Severity == Platform.Definitions.Diagnostics.DiagnosticSeverity.Error) return true;
            }
            return false;
        }
    }
}
