namespace Platform.Definitions.Model;

public enum TypeKind
{
    Primitive,
    List,
    Map,
    /// <summary>A value type or enum declared under <c>types:</c> in any file of the set.</summary>
    Named,
    /// <summary>An enum written in place (<c>status: { enum: [A, B] }</c>); its name is derived from the owner and field.</summary>
    Enum,
}

public enum PrimitiveType
{
    None,
    String,
    Int,
    Long,
    Decimal,
    Double,
    Bool,
    Guid,
    Timestamp,
    Date,
}

/// <summary>
/// A parsed type such as <c>string</c>, <c>decimal?</c>, <c>list&lt;OrderItem&gt;</c> or
/// <c>map&lt;string, int&gt;</c>. <see cref="Name"/> is the named type for <see cref="TypeKind.Named"/>
/// and the generated enum name for <see cref="TypeKind.Enum"/>.
/// </summary>
public sealed record TypeRef(
    TypeKind Kind,
    PrimitiveType Primitive,
    string Name,
    TypeRef? Element,
    TypeRef? Key,
    EquatableArray<string> EnumMembers,
    bool IsOptional,
    SourceSpan Span)
{
    public static TypeRef OfPrimitive(PrimitiveType primitive, bool optional, SourceSpan span) =>
        new(TypeKind.Primitive, primitive, string.Empty, null, null, EquatableArray<string>.Empty, optional, span);

    /// <summary>Canonical text, e.g. <c>list&lt;OrderItem&gt;?</c>; used in messages and fingerprints.</summary>
    public string Display => Kind switch
    {
        TypeKind.Primitive => Primitive.ToString().ToLowerInvariant(),
        TypeKind.List => $"list<{Element!.Display}>",
        TypeKind.Map => $"map<{Key!.Display},{Element!.Display}>",
        TypeKind.Enum => $"enum[{string.Join(",", EnumMembers)}]",
        _ => Name,
    } + (IsOptional ? "?" : string.Empty);
}

/// <summary>Declarative validation a command field carries; the generator turns it into checks.</summary>
/// <param name="Pattern">A .NET regular expression the whole text must match (<c>pattern: "[A-Z]{3}-[0-9]+"</c>).</param>
/// <param name="PatternSpan">Where the pattern is written, for a pattern that does not parse.</param>
public sealed record FieldConstraints(decimal? Min, decimal? Max, int? MaxLength, bool NonEmpty, string? Pattern = null, SourceSpan? PatternSpan = null);

/// <summary>A named, typed field of state, an event, a command, a read model or saga data.</summary>
/// <param name="Personal">Where <c>personal: true</c> is written; null for a field that is not personal data.</param>
public sealed record FieldDefinition(
    string Name,
    TypeRef Type,
    FieldConstraints? Constraints,
    string? Description,
    SourceSpan Span,
    SourceSpan? Personal = null)
{
    /// <summary>Personal data, which an erasure overwrites in stored events.</summary>
    public bool IsPersonal => Personal is not null;
}

/// <summary>A record type declared once under <c>types:</c> and usable from every file.</summary>
public sealed record ValueTypeDefinition(string Name, string Namespace, EquatableArray<FieldDefinition> Fields, SourceSpan Span);

/// <summary>An enum declared under <c>types:</c> (<c>Currency: { enum: [KRW, USD] }</c>).</summary>
public sealed record EnumTypeDefinition(string Name, string Namespace, EquatableArray<EnumMember> Members, SourceSpan Span);

public sealed record EnumMember(string Name, SourceSpan Span);

/// <summary>A reference by name to something declared elsewhere, with where the reference is written.</summary>
public sealed record NameRef(string Name, SourceSpan Span)
{
    public override string ToString() => Name;
}
