using System.Collections.Generic;
using System.Globalization;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Loading;

/// <summary>Shape checks shared by every part of the loader; each failure is a diagnostic, never an exception.</summary>
internal sealed class LoadContext
{
    public LoadContext(string path) => Path = path;

    public string Path { get; }

    public List<DiagnosticInfo> Diagnostics { get; } = new();

    public void Report(DiagnosticDescriptor descriptor, SourceSpan span, params object[] arguments) =>
        Diagnostics.Add(DiagnosticInfo.Create(descriptor, span, arguments));

    public YamlMapping? Mapping(YamlNode? node, string what)
    {
        if (node is null) return null;
        if (node is YamlMapping mapping) return mapping;
        if (node is YamlScalar scalar && scalar.IsNull) return new YamlMapping(node.Span);
        Report(DiagnosticCodes.WrongNodeKind, node.Span, what, "a mapping", node.Describe());
        return null;
    }

    public YamlScalar? Scalar(YamlNode? node, string what)
    {
        if (node is null) return null;
        if (node is YamlScalar scalar) return scalar;
        Report(DiagnosticCodes.WrongNodeKind, node.Span, what, "a single value", node.Describe());
        return null;
    }

    /// <summary>A scalar or a list of scalars, e.g. <c>onFailure: PaymentFailed</c> or <c>[A, B]</c>.</summary>
    public List<YamlScalar> ScalarList(YamlNode? node, string what)
    {
        var result = new List<YamlScalar>();
        switch (node)
        {
            case null:
                break;
            case YamlScalar scalar when scalar.IsNull:
                break;
            case YamlScalar scalar:
                result.Add(scalar);
                break;
            case YamlSequence sequence:
                foreach (var item in sequence.Items)
                {
                    var itemScalar = Scalar(item, what);
                    if (itemScalar is not null) result.Add(itemScalar);
                }
                break;
            default:
                Report(DiagnosticCodes.WrongNodeKind, node.Span, what, "a name or a list of names", node.Describe());
                break;
        }
        return result;
    }

    public void AllowKeys(YamlMapping mapping, string what, params string[] allowed)
    {
        foreach (var entry in mapping.Entries)
        {
            if (System.Array.IndexOf(allowed, entry.Key.Value) < 0)
            {
                Report(DiagnosticCodes.UnknownKey, entry.Key.Span, entry.Key.Value, what, string.Join(", ", allowed));
            }
        }
    }

    public string RequiredString(YamlMapping mapping, string key, string what)
    {
        var node = mapping.Find(key);
        if (node is null)
        {
            Report(DiagnosticCodes.MissingKey, mapping.Span, what, key);
            return string.Empty;
        }
        return Scalar(node, $"'{key}' of {what}")?.Value ?? string.Empty;
    }

    public string? OptionalString(YamlMapping mapping, string key, string what)
    {
        var node = mapping.Find(key);
        return node is null ? null : Scalar(node, $"'{key}' of {what}")?.Value;
    }

    public bool Bool(YamlMapping mapping, string key, string what, bool defaultValue)
    {
        var scalar = Scalar(mapping.Find(key), $"'{key}' of {what}");
        if (scalar is null) return defaultValue;
        switch (scalar.Value)
        {
            case "true": case "True": case "TRUE": return true;
            case "false": case "False": case "FALSE": return false;
            default:
                Report(DiagnosticCodes.InvalidValue, scalar.Span, scalar.Value, "boolean", "true or false");
                return defaultValue;
        }
    }

    public int? PositiveInt(YamlNode? node, string what)
    {
        var scalar = Scalar(node, what);
        if (scalar is null) return null;
        if (int.TryParse(scalar.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0) return value;
        Report(DiagnosticCodes.InvalidValue, scalar.Span, scalar.Value, what, "a whole number greater than 0");
        return null;
    }

    public decimal? Decimal(YamlNode? node, string what)
    {
        var scalar = Scalar(node, what);
        if (scalar is null) return null;
        if (decimal.TryParse(scalar.Value, NumberStyles.Number, CultureInfo.InvariantCulture, out var value)) return value;
        Report(DiagnosticCodes.InvalidValue, scalar.Span, scalar.Value, what, "a number such as 0 or 10.5");
        return null;
    }

    /// <summary>
    /// A duration (<c>30s</c>, <c>15m</c>, <c>2h</c>, <c>1d</c>, <c>500ms</c>), or with
    /// <paramref name="deadline"/> a deadline: <c>$field</c>, or <c>$field + 30m</c> /
    /// <c>$field - 1h</c> for an instant that long after or before the one the field holds.
    /// </summary>
    /// <param name="node">The scalar.</param>
    /// <param name="what">What it is, for the diagnostic.</param>
    /// <param name="deadline">Whether a deadline may stand for the duration.</param>
    public Duration? Duration(YamlNode? node, string what, bool deadline = false)
    {
        var scalar = Scalar(node, what);
        if (scalar is null) return null;
        var text = scalar.Value;
        if (text.StartsWith("$", System.StringComparison.Ordinal) && text.Length > 1)
        {
            if (!deadline)
            {
                Report(DiagnosticCodes.DeadlineNotTaken, scalar.Span, text, what);
                return null;
            }
            var end = 1;
            while (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_')) end++;
            var rest = text.Substring(end).Trim();
            long offset = 0;
            if (end == 1
                || rest.Length > 0 && !((rest[0] == '+' || rest[0] == '-') && Milliseconds(rest.Substring(1).Trim()) is { } amount && (offset = rest[0] == '-' ? -amount : amount) != 0))
            {
                Report(DiagnosticCodes.InvalidDeadline, scalar.Span, text);
                return null;
            }
            return new Duration(0, text, scalar.Span) { Deadline = text.Substring(1, end - 1), DeadlineOffset = offset };
        }
        if (Milliseconds(text) is { } milliseconds) return new Duration(milliseconds, text, scalar.Span);
        Report(DiagnosticCodes.InvalidDuration, scalar.Span, text);
        return null;
    }

    /// <summary>A duration's milliseconds (<c>30s</c>: 30,000); null when the text is not one.</summary>
    static long? Milliseconds(string text)
    {
        var unitLength = text.EndsWith("ms", System.StringComparison.Ordinal) ? 2 : 1;
        if (text.Length <= unitLength
            || !long.TryParse(text.Substring(0, text.Length - unitLength), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || amount <= 0 || amount >= 1_000_000_000)
            return null;
        long? factor = text.Substring(text.Length - unitLength) switch
        {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => null,
        };
        return amount * factor;
    }

    public static string Pascal(string name) =>
        name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name.Substring(1);
}
