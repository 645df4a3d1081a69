using System.Collections.Generic;
using Platform.Definitions;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Model;
using Platform.Generators.Emit;

namespace Platform.Generators.Model;

/// <summary>Builds the <see cref="TypeIndex"/> of a set of files, in path order so it is deterministic.</summary>
internal static class TypeIndexBuilder
{
    public static TypeIndex Build(IReadOnlyList<DefinitionFile> files)
    {
        var ordered = new List<DefinitionFile>(files);
        ordered.Sort((left, right) => string.CompareOrdinal(left.Path, right.Path));

        var types = new List<NamedTypeShape>();
        foreach (var file in ordered)
        {
            foreach (var type in file.Types) types.Add(new NamedTypeShape(type.Name, type.Namespace, IsEnum: false));
            foreach (var type in file.Enums) types.Add(new NamedTypeShape(type.Name, type.Namespace, IsEnum: true));
        }
        var typesOnly = new TypeIndex(new EquatableArray<NamedTypeShape>(types.ToArray()), EquatableArray<MessageShape>.Empty, EquatableArray<AggregateShape>.Empty);
        // A value type's members (their C# types need the names above), for member paths ($address.geo.zone).
        var validates = Validating(ordered);
        var withMembers = new List<NamedTypeShape>();
        foreach (var file in ordered)
        {
            foreach (var type in file.Types)
                withMembers.Add(new NamedTypeShape(type.Name, type.Namespace, IsEnum: false, Shapes(type.Fields, type.Namespace, typesOnly), validates.Contains(type.Name)));
            foreach (var type in file.Enums) withMembers.Add(new NamedTypeShape(type.Name, type.Namespace, IsEnum: true));
        }
        typesOnly = typesOnly with { Types = new EquatableArray<NamedTypeShape>(withMembers.ToArray()) };

        var messages = new List<MessageShape>();
        var aggregates = new List<AggregateShape>();
        foreach (var file in ordered)
        {
            var id = file.Aggregate?.Id;
            if (file.Aggregate is { } aggregate)
                aggregates.Add(new AggregateShape(aggregate.Name, aggregate.Namespace, aggregate.Id.Name, CSharpTypes.Of(aggregate.Id.Type, aggregate.Namespace, typesOnly), Spanless(aggregate.Id.Type)));
            foreach (var e in file.Events)
                messages.Add(new MessageShape(e.Name, e.Namespace, IsEvent: true, e.TypeName, e.Version, Shapes(e.Fields, e.Namespace, typesOnly, Personal(e)), Lineage(e), e.Aggregate));
            foreach (var command in file.Commands)
                messages.Add(new MessageShape(command.Name, command.Namespace, IsEvent: false, command.Name, 1, Shapes(CommandEmitter.Fields(command, id), command.Namespace, typesOnly), EquatableArray<FieldLineage>.Empty));
        }
        return typesOnly with
        {
            Messages = new EquatableArray<MessageShape>(messages.ToArray()),
            Aggregates = new EquatableArray<AggregateShape>(aggregates.ToArray()),
        };
    }

    /// <summary>The value types whose members declare constraints, or hold such a type (in a list or map too).</summary>
    static HashSet<string> Validating(List<DefinitionFile> files)
    {
        var types = new Dictionary<string, ValueTypeDefinition>(System.StringComparer.Ordinal);
        foreach (var file in files)
            foreach (var type in file.Types) types[type.Name] = type;
        var validating = new HashSet<string>(System.StringComparer.Ordinal);
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var type in types.Values)
            {
                if (validating.Contains(type.Name)) continue;
                foreach (var field in type.Fields)
                {
                    if (field.Constraints is null && !Holds(field.Type)) continue;
                    changed = validating.Add(type.Name);
                    break;
                }
            }
        }
        return validating;

        bool Holds(TypeRef type) => type.Kind switch
        {
            TypeKind.Named => validating.Contains(type.Name),
            TypeKind.List or TypeKind.Map => type.Element is { } element && Holds(element),
            _ => false,
        };
    }

    static EquatableArray<FieldLineage> Lineage(EventDefinition e)
    {
        var lineage = new List<FieldLineage>();
        foreach (var field in e.Fields)
            if (DeclarationText.Lineage(e, field.Name) is { Length: > 0 } text)
                lineage.Add(new FieldLineage(field.Name, text));
        return lineage.Count == 0 ? EquatableArray<FieldLineage>.Empty : new EquatableArray<FieldLineage>(lineage.ToArray());
    }

    static EquatableArray<FieldShape> Shapes(EquatableArray<FieldDefinition> fields, string ns, TypeIndex index, HashSet<string>? personal = null)
    {
        var shapes = new FieldShape[fields.Count];
        for (var i = 0; i < shapes.Length; i++)
            shapes[i] = new FieldShape(fields[i].Name, CSharpTypes.Of(fields[i].Type, ns, index), fields[i].Type.IsOptional, Spanless(fields[i].Type),
                personal?.Contains(fields[i].Name) == true);
        return new EquatableArray<FieldShape>(shapes);
    }

    // The current version's personal fields, marked there or in an earlier version by name.
    static HashSet<string>? Personal(EventDefinition e)
    {
        if (!PersonalData.ByVersion(e).TryGetValue(e.Version, out var fields)) return null;
        var names = new HashSet<string>();
        foreach (var field in fields) names.Add(field.Name);
        return names;
    }

    static TypeRef Spanless(TypeRef type) => type with
    {
        Element = type.Element is null ? null : Spanless(type.Element),
        Key = type.Key is null ? null : Spanless(type.Key),
        Span = default,
    };
}
