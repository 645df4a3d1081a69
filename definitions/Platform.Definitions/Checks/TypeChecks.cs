using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>Every type resolves, map keys are keyable, value types do not contain themselves, constraints fit.</summary>
internal static class TypeChecks
{
    public static void Run(CheckContext context)
    {
        foreach (var file in context.Set.Files)
        {
            foreach (var type in file.Types)
            {
                Fields(context, type.Fields);
                NotErased(context, type.Fields, "the value type member", "Mark the event field that holds the value personal instead: the whole value is erased.");
                Recursion(context, type);
            }
            foreach (var enumType in file.Enums)
            {
                if (enumType.Members.IsEmpty) context.Report(DiagnosticCodes.InvalidEnum, enumType.Span, $"The enum '{enumType.Name}' has no members");
            }
            if (file.Aggregate is { } aggregate)
            {
                var idType = aggregate.Id.Type;
                if (idType.Kind != TypeKind.Primitive || idType.IsOptional || idType.Primitive is not (PrimitiveType.Guid or PrimitiveType.String or PrimitiveType.Long))
                {
                    context.Report(DiagnosticCodes.InvalidIdType, idType.Span, idType.Display);
                }
                Fields(context, aggregate.State, "the state field");
                NotErased(context, aggregate.State, "the state field", "Mark the event fields it is applied from.");
            }
            foreach (var command in file.Commands)
            {
                Fields(context, command.Fields);
                NotErased(context, command.Fields, "the command field", "Mark the event fields it is stored in.");
            }
            foreach (var definition in file.Events)
            {
                Fields(context, definition.Fields, "the event field");
                foreach (var previous in definition.Previous) Fields(context, previous.Fields, "the event field");
                Erasable(context, definition);
            }
            if (file.Projection is { } projection)
            {
                foreach (var key in projection.Keys) Type(context, key.Type);
                NotErased(context, projection.Keys, "the read model key", "Mark the event fields it is built from: an erasure names the read models to rebuild.");
                Fields(context, projection.Fields, "the read model field");
                NotErased(context, projection.Fields, "the read model field", "Mark the event fields it is built from: an erasure names the read models to rebuild.");
            }
            if (file.Saga is { } saga)
            {
                Fields(context, saga.Data, "the saga data field");
                // Erased in the saga's row with the stream that started it: marked, or copied from a personal field.
                foreach (var field in PersonalData.SagaFields(saga, name => PersonalData.CurrentNames(context.Set.FindEvent(name))))
                    if (PersonalData.ErasedJson(field.Type) is null)
                        context.Report(DiagnosticCodes.PersonalNotErasable, field.Personal ?? field.Span, field.Name, field.Type.Display);
            }
        }
    }

    /// <param name="uncheckedWhat">For fields whose constraints nothing validates (events, state, read models, saga data), what they are: their constraints are warned about.</param>
    private static void Fields(CheckContext context, IEnumerable<FieldDefinition> fields, string? uncheckedWhat = null)
    {
        foreach (var field in fields)
        {
            Type(context, field.Type);
            if (field.Constraints is { } constraints)
            {
                Constraints(context, field, constraints);
                if (uncheckedWhat is not null) NotChecked(context, field, constraints, uncheckedWhat);
            }
        }
    }

    /// <summary><c>personal:</c> where no erasure reaches.</summary>
    private static void NotErased(CheckContext context, IEnumerable<FieldDefinition> fields, string what, string instead)
    {
        foreach (var field in fields)
            if (field.Personal is { } personal) context.Report(DiagnosticCodes.PersonalNotErased, personal, what, field.Name, instead);
    }

    /// <summary>
    /// An event's personal field must have a value to be erased to (<see cref="PersonalData.ErasedJson"/>),
    /// in every version, the versions it is personal in by name or rename included.
    /// </summary>
    private static void Erasable(CheckContext context, EventDefinition definition)
    {
        foreach (var version in PersonalData.ByVersion(definition))
            foreach (var field in version.Value)
                if (PersonalData.ErasedJson(field.Type) is null)
                    context.Report(DiagnosticCodes.PersonalNotErasable, field.Personal ?? field.Span, field.Name, field.Type.Display);
    }

    private static void Type(CheckContext context, TypeRef type)
    {
        switch (type.Kind)
        {
            case TypeKind.Named:
                if (!context.ValueTypes.ContainsKey(type.Name) && !context.Enums.ContainsKey(type.Name))
                {
                    context.Report(DiagnosticCodes.UnknownType, type.Span, type.Name, context.Suggest(type.Name, System.Linq.Enumerable.Concat(context.ValueTypes.Keys, context.Enums.Keys)));
                }
                break;
            case TypeKind.List:
                Type(context, type.Element!);
                break;
            case TypeKind.Map:
                var key = type.Key!;
                Type(context, key);
                var keyable = !key.IsOptional && (key.Kind == TypeKind.Primitive
                    ? key.Primitive is PrimitiveType.String or PrimitiveType.Int or PrimitiveType.Long or PrimitiveType.Guid
                    : key.Kind == TypeKind.Named && context.Enums.ContainsKey(key.Name));
                if (!keyable) context.Report(DiagnosticCodes.InvalidMapKey, type.Span, key.Display);
                Type(context, type.Element!);
                break;
            case TypeKind.Enum:
                var seen = new HashSet<string>();
                if (type.EnumMembers.IsEmpty) context.Report(DiagnosticCodes.InvalidEnum, type.Span, $"The enum '{type.Name}' has no members");
                foreach (var member in type.EnumMembers)
                {
                    if (!seen.Add(member)) context.Report(DiagnosticCodes.InvalidEnum, type.Span, $"The enum '{type.Name}' lists '{member}' twice");
                }
                break;
        }
    }

    private static void Constraints(CheckContext context, FieldDefinition field, FieldConstraints constraints)
    {
        var type = field.Type;
        if ((constraints.Min is not null || constraints.Max is not null) && !Typing.IsNumeric(type))
        {
            context.Report(DiagnosticCodes.ConstraintNotApplicable, field.Span, "min/max", type.Display, "Ranges apply to int, long, decimal and double.");
        }
        if (constraints.MaxLength is not null && !Typing.IsString(type))
        {
            context.Report(DiagnosticCodes.ConstraintNotApplicable, field.Span, "maxLength", type.Display, "maxLength applies to strings.");
        }
        if (constraints.NonEmpty && !Typing.IsString(type) && !Typing.IsCollection(type))
        {
            context.Report(DiagnosticCodes.ConstraintNotApplicable, field.Span, "nonEmpty", type.Display, "nonEmpty applies to strings, lists and maps.");
        }
        if (constraints.Pattern is { } pattern)
        {
            if (!Typing.IsString(type))
                context.Report(DiagnosticCodes.ConstraintNotApplicable, field.Span, "pattern", type.Display, "pattern applies to strings.");
            else if (PatternError(pattern) is { } error)
                context.Report(DiagnosticCodes.InvalidValue, constraints.PatternSpan ?? field.Span, pattern, "pattern",
                    $"a .NET regular expression ({error})");
        }
        if (constraints.Min is { } min && constraints.Max is { } max && min > max)
        {
            context.Report(DiagnosticCodes.InvalidValue, field.Span, $"min {min} > max {max}", "range", "a minimum not above the maximum");
        }
    }

    private static void NotChecked(CheckContext context, FieldDefinition field, FieldConstraints constraints, string what)
    {
        var names = new List<string>();
        if (constraints.Min is not null) names.Add("min");
        if (constraints.Max is not null) names.Add("max");
        if (constraints.MaxLength is not null) names.Add("maxLength");
        if (constraints.NonEmpty) names.Add("nonEmpty");
        if (constraints.Pattern is not null) names.Add("pattern");
        if (names.Count > 0)
            context.Report(DiagnosticCodes.ConstraintNotChecked, field.Span, "'" + string.Join("', '", names) + "'", what, field.Name);
    }

    /// <summary>Why <paramref name="pattern"/> is not a regular expression the generated code can use, or null.</summary>
    private static string? PatternError(string pattern)
    {
        try
        {
            _ = new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
            return null;
        }
        catch (System.ArgumentException invalid)
        {
            return invalid.Message.TrimEnd('.');
        }
    }

    /// <summary>A value type may not contain itself, directly or through other value types or collections.</summary>
    private static void Recursion(CheckContext context, ValueTypeDefinition root)
    {
        var stack = new Stack<(ValueTypeDefinition Type, string Path)>();
        var visited = new HashSet<string>();
        stack.Push((root, root.Name));
        while (stack.Count > 0)
        {
            var (current, path) = stack.Pop();
            foreach (var field in current.Fields)
            {
                foreach (var name in NamedTypesIn(field.Type))
                {
                    if (name == root.Name)
                    {
                        context.Report(DiagnosticCodes.RecursiveType, root.Span, root.Name, path + "." + field.Name);
                        return;
                    }
                    if (visited.Add(name) && context.ValueTypes.TryGetValue(name, out var next)) stack.Push((next, path + "." + field.Name));
                }
            }
        }
    }

    private static IEnumerable<string> NamedTypesIn(TypeRef type)
    {
        if (type.Kind == TypeKind.Named) yield return type.Name;
        if (type.Key is not null) foreach (var name in NamedTypesIn(type.Key)) yield return name;
        if (type.Element is not null) foreach (var name in NamedTypesIn(type.Element)) yield return name;
    }
}
