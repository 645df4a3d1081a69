using System.Collections.Generic;
using System.Text;

namespace Platform.Definitions.Checks;

/// <summary>
/// What a YAML name must satisfy to become a C# identifier. Deliberately ASCII only: names also
/// become JSON properties, table columns and broker topics, where Unicode look-alikes cause grief.
/// </summary>
public static class IdentifierRules
{
    private static readonly HashSet<string> Keywords = new()
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    };

    public static bool IsValid(string name)
    {
        if (name.Length == 0 || name.Length > 128) return false;
        if (!(IsAsciiLetter(name[0]) || name[0] == '_')) return false;
        foreach (var character in name)
        {
            if (!(IsAsciiLetter(character) || (character >= '0' && character <= '9') || character == '_')) return false;
        }
        return true;
    }

    /// <summary>The keyword the name turns into in PascalCase or camelCase, or null.</summary>
    public static string? KeywordAfterCasing(string name)
    {
        // Every keyword starts lower-case, so only the camelCase form can be one; a name that is
        // already camelCase needs no copy (this runs for every name of every file on each edit).
        if (name.Length == 0 || (name[0] >= 'a' && name[0] <= 'z')) return Keywords.Contains(name) ? name : null;
        var camel = Camel(name);
        return Keywords.Contains(camel) ? camel : null;
    }

    /// <summary>Whether <paramref name="name"/> in PascalCase equals <paramref name="pascal"/>, without building the string.</summary>
    public static bool PascalEquals(string name, string pascal) =>
        name.Length == pascal.Length && name.Length > 0
        && char.ToUpperInvariant(name[0]) == pascal[0]
        && string.CompareOrdinal(name, 1, pascal, 1, name.Length - 1) == 0;

    public static bool IsKeyword(string name) => Keywords.Contains(name);

    public static string Pascal(string name) =>
        name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name.Substring(1);

    public static string Camel(string name) =>
        name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name.Substring(1);

    /// <summary>A close valid name for a message: invalid characters dropped, a letter in front if needed.</summary>
    public static string Suggest(string name)
    {
        var builder = new StringBuilder();
        var upperNext = false;
        foreach (var character in name)
        {
            if (IsAsciiLetter(character) || (character >= '0' && character <= '9'))
            {
                builder.Append(upperNext ? char.ToUpperInvariant(character) : character);
                upperNext = false;
            }
            else
            {
                upperNext = builder.Length > 0;
            }
        }
        if (builder.Length == 0 || !IsAsciiLetter(builder[0])) builder.Insert(0, "Name");
        return builder.ToString();
    }

    private static bool IsAsciiLetter(char character) => (character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z');
}
