namespace Platform.Generators.Emit;

/// <summary>
/// C# names from definition names. The definitions checks have already rejected names that are not
/// identifiers, are keywords, or collide after casing; this only changes the case.
/// </summary>
internal static class Names
{
    /// <summary><c>customerId</c> -&gt; <c>CustomerId</c>.</summary>
    public static string Pascal(string name) =>
        name.Length == 0 || char.IsUpper(name[0]) ? name : char.ToUpperInvariant(name[0]) + name.Substring(1);

    /// <summary><c>CustomerId</c> -&gt; <c>customerId</c>, escaped with <c>@</c> when that is a keyword.</summary>
    public static string Camel(string name)
    {
        var camel = name.Length == 0 || char.IsLower(name[0]) ? name : char.ToLowerInvariant(name[0]) + name.Substring(1);
        return Platform.Definitions.Checks.IdentifierRules.IsKeyword(camel) ? "@" + camel : camel;
    }

    /// <summary>A fully qualified type name: <c>global::Shop.Orders.OrderPlaced</c>.</summary>
    public static string Global(string ns, string name) =>
        ns.Length == 0 ? "global::" + name : "global::" + ns + "." + name;
}
