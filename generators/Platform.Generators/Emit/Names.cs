using System.Collections.Generic;

namespace Platform.Generators.Emit;

/// <summary>
/// C# names from definition names. The definitions checks have already rejected names that are not
/// identifiers, are keywords, or collide after casing; this only changes the case.
/// </summary>
internal static class Names
{
    static readonly HashSet<string> Keywords = new(System.StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    };

    /// <summary><c>customerId</c> -&gt; <c>CustomerId</c>.</summary>
    public static string Pascal(string name) =>
        name.Length == 0 || char.IsUpper(name[0]) ? name : char.ToUpperInvariant(name[0]) + name.Substring(1);

    /// <summary><c>CustomerId</c> -&gt; <c>customerId</c>, escaped with <c>@</c> when that is a keyword.</summary>
    public static string Camel(string name)
    {
        var camel = name.Length == 0 || char.IsLower(name[0]) ? name : char.ToLowerInvariant(name[0]) + name.Substring(1);
        return Keywords.Contains(camel) ? "@" + camel : camel;
    }

    /// <summary>A fully qualified type name: <c>global::Shop.Orders.OrderPlaced</c>.</summary>
    public static string Global(string ns, string name) =>
        ns.Length == 0 ? "global::" + name : "global::" + ns + "." + name;
}
