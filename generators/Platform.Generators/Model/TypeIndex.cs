using Platform.Definitions;
using Platform.Definitions.Model;

namespace Platform.Generators.Model;

/// <summary>What a message (event or command) looks like to code in another file.</summary>
internal sealed record MessageShape(
    string Name,
    string Namespace,
    bool IsEvent,
    string TypeName,
    int Version,
    EquatableArray<FieldShape> Fields,
    EquatableArray<FieldLineage> Lineage,
    string? Aggregate = null);

/// <summary>How a field of an event's current version is made from its stored earlier versions (<see cref="Platform.Definitions.Compatibility.DeclarationText.Lineage"/>); only fields an upcast step reaches are listed.</summary>
internal sealed record FieldLineage(string Field, string Text);

/// <summary>
/// A field without its source position, so that moving text does not invalidate other files:
/// <see cref="Type"/> is its C# type, <see cref="Ref"/> its declared type (without spans), which
/// values assigned to it and conditions on it are converted by.
/// </summary>
/// <param name="IsPersonal">An event's field of personal data in its current version (<see cref="Platform.Definitions.Model.PersonalData"/>).</param>
internal sealed record FieldShape(string Name, string Type, bool IsOptional, TypeRef Ref, bool IsPersonal = false);

/// <summary>A named type (value type or enum), the namespace it is emitted in, and a value type's members.</summary>
/// <param name="Validates">A value type whose members, or the value types they hold, declare constraints: it implements <c>IValidatable</c>.</param>
internal sealed record NamedTypeShape(string Name, string Namespace, bool IsEnum, EquatableArray<FieldShape> Members = default, bool Validates = false)
{
    /// <summary>The member <paramref name="name"/> of a value type, or null.</summary>
    public FieldShape? Member(string name)
    {
        foreach (var member in Members)
            if (member.Name == name) return member;
        return null;
    }
}

/// <summary>An aggregate as projections see it: its id field (C# type and declared type, without spans).</summary>
internal sealed record AggregateShape(string Name, string Namespace, string IdName, string IdType, TypeRef IdRef);

/// <summary>
/// The cross-file facts one file's emitters need: names, namespaces and field shapes of every
/// type and message in the set, with no source positions. An edit that changes only positions,
/// literals or handlers in one file leaves it equal, so the other files' outputs stay cached.
/// </summary>
internal sealed record TypeIndex(
    EquatableArray<NamedTypeShape> Types,
    EquatableArray<MessageShape> Messages,
    EquatableArray<AggregateShape> Aggregates)
{
    public NamedTypeShape? FindType(string name)
    {
        foreach (var type in Types)
            if (type.Name == name) return type;
        return null;
    }

    public MessageShape? FindMessage(string name)
    {
        foreach (var message in Messages)
            if (message.Name == name) return message;
        return null;
    }

    public AggregateShape? FindAggregate(string name)
    {
        foreach (var aggregate in Aggregates)
            if (aggregate.Name == name) return aggregate;
        return null;
    }
}
