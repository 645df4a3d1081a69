using System.Collections.Generic;
using System.Globalization;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Loading;

/// <summary>
/// Reads values: quoted scalars are always literals; plain scalars may be <c>$field</c>,
/// <c>$meta.NAME</c>, <c>count($list)</c> or <c>sum($list.member [* $list.member])</c>.
/// <c>$$</c> starts a literal that begins with a dollar sign.
/// </summary>
internal static class ExpressionParser
{
    public static ValueExpr? Parse(LoadContext context, YamlNode? node, string what)
    {
        var scalar = context.Scalar(node, what);
        if (scalar is null) return null;
        return Parse(context, scalar);
    }

    public static ValueExpr? Parse(LoadContext context, YamlScalar scalar)
    {
        var text = scalar.Value;
        var span = scalar.Span;
        if (!scalar.IsPlain) return ValueExpr.Literal(text, LiteralKind.String, span);
        if (scalar.IsNull) return ValueExpr.Literal(string.Empty, LiteralKind.Null, span);
        if (text == "true" || text == "false") return ValueExpr.Literal(text, LiteralKind.Bool, span);
        if (decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
        {
            return ValueExpr.Literal(text, LiteralKind.Number, span);
        }
        if (text.StartsWith("$$", System.StringComparison.Ordinal)) return ValueExpr.Literal(text.Substring(1), LiteralKind.String, span);

        if (text.StartsWith("$meta.", System.StringComparison.Ordinal))
        {
            var name = text.Substring("$meta.".Length);
            var field = MetadataOf(name);
            if (field == MetadataField.None)
            {
                context.Report(DiagnosticCodes.InvalidExpression, span, text, "metadata names are eventId, timestamp, aggregateId, version, correlationId, causationId, userId, traceId");
                return null;
            }
            return new ValueExpr(ValueKind.Metadata, text, LiteralKind.None, field, EquatableArray<string>.Empty, EquatableArray<string>.Empty, span);
        }
        if (text.StartsWith("$", System.StringComparison.Ordinal))
        {
            var path = FieldPath(text);
            if (path is null)
            {
                context.Report(DiagnosticCodes.InvalidExpression, span, text, "a field reference is '$' followed by names separated by '.'");
                return null;
            }
            return new ValueExpr(ValueKind.Field, text, LiteralKind.None, MetadataField.None, path.Value, EquatableArray<string>.Empty, span);
        }
        if (text.StartsWith("count(", System.StringComparison.Ordinal) || text.StartsWith("sum(", System.StringComparison.Ordinal))
        {
            return Aggregate(context, text, span);
        }
        return ValueExpr.Literal(text, LiteralKind.String, span);
    }

    private static ValueExpr? Aggregate(LoadContext context, string text, SourceSpan span)
    {
        var isCount = text.StartsWith("count(", System.StringComparison.Ordinal);
        if (!text.EndsWith(")", System.StringComparison.Ordinal))
        {
            context.Report(DiagnosticCodes.InvalidExpression, span, text, "the closing ')' is missing");
            return null;
        }
        var inner = text.Substring(isCount ? 6 : 4, text.Length - (isCount ? 7 : 5));
        var parts = inner.Split('*');
        if (isCount)
        {
            var list = FieldPath(inner.Trim());
            if (list is null || list.Value.Count != 1)
            {
                context.Report(DiagnosticCodes.InvalidExpression, span, text, "count takes one list field, e.g. count($items)");
                return null;
            }
            return new ValueExpr(ValueKind.Count, text, LiteralKind.None, MetadataField.None, list.Value, EquatableArray<string>.Empty, span);
        }
        if (parts.Length > 2)
        {
            context.Report(DiagnosticCodes.InvalidExpression, span, text, "sum multiplies at most two members");
            return null;
        }
        var first = FieldPath(parts[0].Trim());
        var second = parts.Length == 2 ? FieldPath(parts[1].Trim()) : EquatableArray<string>.Empty;
        if (first is null || first.Value.Count != 2 || second is null || (parts.Length == 2 && (second.Value.Count != 2 || second.Value[0] != first.Value[0])))
        {
            context.Report(DiagnosticCodes.InvalidExpression, span, text, "sum takes members of one list, e.g. sum($items.price * $items.quantity)");
            return null;
        }
        return new ValueExpr(ValueKind.Sum, text, LiteralKind.None, MetadataField.None, first.Value, second.Value, span);
    }

    private static EquatableArray<string>? FieldPath(string text)
    {
        if (text.Length < 2 || text[0] != '$') return null;
        var segments = text.Substring(1).Split('.');
        var result = new List<string>(segments.Length);
        foreach (var segment in segments)
        {
            if (segment.Length == 0 || !(char.IsLetter(segment[0]) || segment[0] == '_')) return null;
            foreach (var character in segment)
            {
                if (!(char.IsLetterOrDigit(character) || character == '_')) return null;
            }
            result.Add(segment);
        }
        return new EquatableArray<string>(result);
    }

    private static MetadataField MetadataOf(string name) => name switch
    {
        "eventId" => MetadataField.EventId,
        "timestamp" => MetadataField.Timestamp,
        "aggregateId" => MetadataField.AggregateId,
        "version" => MetadataField.Version,
        "correlationId" => MetadataField.CorrelationId,
        "causationId" => MetadataField.CausationId,
        "userId" => MetadataField.UserId,
        "traceId" => MetadataField.TraceId,
        _ => MetadataField.None,
    };
}
