using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Loading;

/// <summary>Parses type text such as <c>map&lt;string, list&lt;OrderItem&gt;&gt;?</c> by recursive descent with a depth cap.</summary>
internal static class TypeParser
{
    private const int MaxDepth = 8;

    public static TypeRef? Parse(LoadContext context, YamlScalar scalar)
    {
        var text = scalar.Value;
        var position = 0;
        var error = (string?)null;
        var type = ParseType(text, ref position, 0, scalar.Span, ref error);
        SkipSpaces(text, ref position);
        if (error is null && position != text.Length) error = $"unexpected '{text.Substring(position)}'";
        if (error is not null || type is null)
        {
            context.Report(DiagnosticCodes.InvalidTypeSyntax, scalar.Span, text, error ?? "it is empty");
            return null;
        }
        return type;
    }

    private static TypeRef? ParseType(string text, ref int position, int depth, SourceSpan span, ref string? error)
    {
        if (depth > MaxDepth)
        {
            error = $"types nest at most {MaxDepth} levels";
            return null;
        }
        SkipSpaces(text, ref position);
        var start = position;
        while (position < text.Length && (char.IsLetterOrDigit(text[position]) || text[position] == '_' || text[position] == '.'))
        {
            position++;
        }
        var name = text.Substring(start, position - start);
        if (name.Length == 0)
        {
            error = position < text.Length ? $"unexpected '{text[position]}'" : "a type name is missing";
            return null;
        }

        TypeRef type;
        if (name == "list" || name == "map")
        {
            SkipSpaces(text, ref position);
            if (!Expect(text, ref position, '<', ref error)) return null;
            TypeRef? key = null;
            if (name == "map")
            {
                key = ParseType(text, ref position, depth + 1, span, ref error);
                if (key is null) return null;
                SkipSpaces(text, ref position);
                if (!Expect(text, ref position, ',', ref error)) return null;
            }
            var element = ParseType(text, ref position, depth + 1, span, ref error);
            if (element is null) return null;
            SkipSpaces(text, ref position);
            if (!Expect(text, ref position, '>', ref error)) return null;
            type = new TypeRef(name == "list" ? TypeKind.List : TypeKind.Map, PrimitiveType.None, string.Empty, element, key, EquatableArray<string>.Empty, false, span);
        }
        else
        {
            var primitive = PrimitiveOf(name);
            type = primitive == PrimitiveType.None
                ? new TypeRef(TypeKind.Named, PrimitiveType.None, name, null, null, EquatableArray<string>.Empty, false, span)
                : TypeRef.OfPrimitive(primitive, false, span);
        }

        SkipSpaces(text, ref position);
        if (position < text.Length && text[position] == '?')
        {
            position++;
            type = type with { IsOptional = true };
        }
        return type;
    }

    public static PrimitiveType PrimitiveOf(string name) => name switch
    {
        "string" => PrimitiveType.String,
        "int" => PrimitiveType.Int,
        "long" => PrimitiveType.Long,
        "decimal" => PrimitiveType.Decimal,
        "double" => PrimitiveType.Double,
        "bool" => PrimitiveType.Bool,
        "guid" => PrimitiveType.Guid,
        "timestamp" => PrimitiveType.Timestamp,
        "date" => PrimitiveType.Date,
        _ => PrimitiveType.None,
    };

    private static bool Expect(string text, ref int position, char expected, ref string? error)
    {
        if (position < text.Length && text[position] == expected)
        {
            position++;
            return true;
        }
        error = $"expected '{expected}'" + (position < text.Length ? $" before '{text.Substring(position)}'" : " at the end");
        return false;
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && text[position] == ' ') position++;
    }
}
