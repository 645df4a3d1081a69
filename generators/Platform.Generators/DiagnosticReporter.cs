using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using DiagnosticInfo = Platform.Definitions.Diagnostics.DiagnosticInfo;
using PlatformSeverity = Platform.Definitions.Diagnostics.DiagnosticSeverity;

namespace Platform.Generators;

/// <summary>Turns definition diagnostics into Roslyn ones located in the YAML file.</summary>
internal static class DiagnosticReporter
{
    public const string Category = "Platform.Definitions";

    /// <summary>Reported when the generator itself fails; names the file, never a stack trace.</summary>
    public const string InternalErrorCode = "PLT9001";

    public static Diagnostic ToDiagnostic(DiagnosticInfo info)
    {
        var severity = info.Severity switch
        {
            PlatformSeverity.Error => Microsoft.CodeAnalysis.DiagnosticSeverity.Error,
            PlatformSeverity.Warning => Microsoft.CodeAnalysis.DiagnosticSeverity.Warning,
            _ => Microsoft.CodeAnalysis.DiagnosticSeverity.Info,
        };
        var descriptor = new DiagnosticDescriptor(info.Code, info.Code, "{0}", Category, severity, isEnabledByDefault: true);
        var span = info.Span;
        // YamlDotNet's marks are 1-based; Roslyn's line positions are 0-based.
        var start = new LinePosition(Max0(span.StartLine - 1), Max0(span.StartColumn - 1));
        var end = new LinePosition(Max0(span.EndLine - 1), Max0(span.EndColumn - 1));
        if (end < start) end = start;
        var textSpan = new TextSpan(Max0(span.StartOffset), Max0(span.EndOffset - span.StartOffset));
        var location = Location.Create(span.Path, textSpan, new LinePositionSpan(start, end));
        return Diagnostic.Create(descriptor, location, info.Message);
    }

    static int Max0(int value) => value < 0 ? 0 : value;
}
