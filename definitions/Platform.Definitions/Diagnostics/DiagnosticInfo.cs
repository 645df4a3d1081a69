using System;

namespace Platform.Definitions.Diagnostics;

public enum DiagnosticSeverity
{
    Info,
    Warning,
    Error,
}

/// <summary>A diagnostic kind: stable code, default severity, title, and message format.</summary>
public sealed record DiagnosticDescriptor(string Code, DiagnosticSeverity Severity, string Title, string MessageFormat);

/// <summary>One reported problem. Equatable so it can travel through generator pipelines.</summary>
public sealed record DiagnosticInfo(string Code, DiagnosticSeverity Severity, string Message, SourceSpan Span)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SourceSpan span, params object[] arguments)
    {
        var message = string.Format(System.Globalization.CultureInfo.InvariantCulture, descriptor.MessageFormat, arguments);
        // Formats often start with an argument such as "command 'X'"; a message reads as a sentence.
        if (message.Length > 0 && char.IsLower(message[0])) message = char.ToUpperInvariant(message[0]) + message.Substring(1);
        return new(descriptor.Code, descriptor.Severity, message, span);
    }

    /// <summary>MSBuild canonical form, understood by IDEs and CI log parsers.</summary>
    public string ToCanonicalString()
    {
        var severity = Severity switch
        {
            DiagnosticSeverity.Error => "error",
            DiagnosticSeverity.Warning => "warning",
            _ => "info",
        };
        return $"{Span.Path}({Span.StartLine},{Span.StartColumn}): {severity} {Code}: {Message}";
    }
}
