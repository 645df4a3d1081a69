using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using Platform.Definitions.Checks;
using Platform.Definitions.Model;

namespace Platform.Definitions.Compatibility;

/// <summary>
/// The canonical text of an event version's fields: sorted by name, named value types and enums
/// expanded in place, so a change to a shared type changes the fingerprint of every event using it.
/// </summary>
public static class CanonicalSchema
{
    private const int MaxDepth = 16;

    public static List<LockedField> Fields(DefinitionSet set, IEnumerable<FieldDefinition> fields)
    {
        var result = new List<LockedField>();
        foreach (var field in fields) result.Add(new LockedField(field.Name, Type(set, field.Type, 0)));
        result.Sort((left, right) => string.CompareOrdinal(left.Name, right.Name));
        return result;
    }

    public static string Type(DefinitionSet set, TypeRef type, int depth)
    {
        var optional = type.IsOptional ? "?" : string.Empty;
        if (depth > MaxDepth) return "..." + optional;
        switch (type.Kind)
        {
            case TypeKind.Primitive:
                return type.Primitive.ToString().ToLowerInvariant() + optional;
            case TypeKind.List:
                return $"list<{Type(set, type.Element!, depth + 1)}>{optional}";
            case TypeKind.Map:
                return $"map<{Type(set, type.Key!, depth + 1)},{Type(set, type.Element!, depth + 1)}>{optional}";
            case TypeKind.Enum:
                return $"enum[{string.Join(",", type.EnumMembers)}]{optional}";
        }
        if (set.FindEnum(type.Name) is { } enumType)
        {
            var members = new List<string>();
            foreach (var member in enumType.Members) members.Add(member.Name);
            return $"enum[{string.Join(",", members)}]{optional}";
        }
        if (set.FindValueType(type.Name) is { } valueType)
        {
            var parts = new List<string>();
            foreach (var field in valueType.Fields) parts.Add(field.Name + ":" + Type(set, field.Type, depth + 1));
            parts.Sort(string.CompareOrdinal);
            return "{" + string.Join(",", parts) + "}" + optional;
        }
        return type.Name + optional;
    }

    public static string Fingerprint(IEnumerable<LockedField> fields)
    {
        var builder = new StringBuilder();
        foreach (var field in fields) builder.Append(field.Name).Append(':').Append(field.Type).Append(';');
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(builder.ToString()));
        var hex = new StringBuilder("sha256:", 7 + 64);
        foreach (var value in hash) hex.Append(value.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        return hex.ToString();
    }
}
