using System.Collections.Generic;
using System.Globalization;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>Type questions the checks ask: what an expression yields, whether a value fits a field.</summary>
internal static class Typing
{
    /// <summary>
    /// An optional value type (a declared record) into a required field: absent, it has no default to
    /// stand in for it (text, numbers, lists and maps do), so the target would hold a null its type
    /// says it cannot. Refused wherever a value is assigned or copied by name.
    /// </summary>
    public static bool NoDefaultWhenAbsent(CheckContext context, TypeRef source, TypeRef target) =>
        source is { IsOptional: true, Kind: TypeKind.Named } && !target.IsOptional && MembersOf(context, source) is not null;

    public static bool IsNumeric(TypeRef type) =>
        type.Kind == TypeKind.Primitive && type.Primitive is PrimitiveType.Int or PrimitiveType.Long or PrimitiveType.Decimal or PrimitiveType.Double;

    public static bool IsCollection(TypeRef type) => type.Kind is TypeKind.List or TypeKind.Map;

    public static bool IsString(TypeRef type) => type.Kind == TypeKind.Primitive && type.Primitive == PrimitiveType.String;

    /// <summary>Members of a value type, or null when the type is not one.</summary>
    public static IReadOnlyList<FieldDefinition>? MembersOf(CheckContext context, TypeRef? type)
    {
        if (type is null || type.Kind != TypeKind.Named) return null;
        return context.ValueTypes.TryGetValue(type.Name, out var valueType) ? context.ScopeOf(valueType) : null;
    }

    public static EquatableArray<string>? EnumMembersOf(CheckContext context, TypeRef type)
    {
        if (type.Kind == TypeKind.Enum) return type.EnumMembers;
        if (type.Kind == TypeKind.Named && context.Enums.TryGetValue(type.Name, out var enumType))
        {
            var names = new List<string>();
            foreach (var member in enumType.Members) names.Add(member.Name);
            return new EquatableArray<string>(names);
        }
        return null;
    }

    /// <summary>Same type, where a value may flow into a wider number or an optional of the same type.</summary>
    public static bool Assignable(CheckContext context, TypeRef source, TypeRef target)
    {
        if (source.Kind == TypeKind.Primitive && target.Kind == TypeKind.Primitive)
        {
            if (source.Primitive == target.Primitive) return true;
            return (source.Primitive, target.Primitive) switch
            {
                (PrimitiveType.Int, PrimitiveType.Long) => true,
                (PrimitiveType.Int, PrimitiveType.Decimal) => true,
                (PrimitiveType.Long, PrimitiveType.Decimal) => true,
                (PrimitiveType.Int, PrimitiveType.Double) => true,
                (PrimitiveType.Timestamp, PrimitiveType.Date) => true,
                _ => false,
            };
        }
        if (source.Kind != target.Kind)
        {
            // An inline enum and a named enum with the same members are the same thing on the wire.
            var sourceMembers = EnumMembersOf(context, source);
            var targetMembers = EnumMembersOf(context, target);
            if (sourceMembers is not null && targetMembers is not null) return sourceMembers.Value.Equals(targetMembers.Value);
            return source.Kind == TypeKind.Enum && IsString(target) || target.Kind == TypeKind.Enum && IsString(source);
        }
        return source.Kind switch
        {
            TypeKind.List => SameShape(source.Element!, target.Element!),
            TypeKind.Map => SameShape(source.Key!, target.Key!) && SameShape(source.Element!, target.Element!),
            TypeKind.Enum => source.EnumMembers.Equals(target.EnumMembers),
            _ => source.Name == target.Name,
        };
    }

    public static bool SameShape(TypeRef left, TypeRef right) => left.Display == right.Display;

    /// <summary>Whether a stream id (the aggregate id <paramref name="id"/> as text) can be read as <paramref name="target"/>.</summary>
    public static bool StreamIdFits(TypeRef id, TypeRef target) =>
        target.Kind == TypeKind.Primitive && id.Kind == TypeKind.Primitive
        && (target.Primitive == PrimitiveType.String
            || target.Primitive == id.Primitive && id.Primitive is PrimitiveType.Guid or PrimitiveType.Int or PrimitiveType.Long
            || id.Primitive == PrimitiveType.Int && target.Primitive == PrimitiveType.Long);

    public static TypeRef? MetadataType(MetadataField field, SourceSpan span) => field switch
    {
        MetadataField.Timestamp => TypeRef.OfPrimitive(PrimitiveType.Timestamp, false, span),
        MetadataField.Version => TypeRef.OfPrimitive(PrimitiveType.Long, false, span),
        MetadataField.EventId => TypeRef.OfPrimitive(PrimitiveType.Guid, false, span),
        // Text, absent when the command had none: the correlation id a caller gave, and the causing command's id.
        // The aggregate id's type depends on the aggregate; callers that know it check it themselves.
        MetadataField.AggregateId => null,
        _ => TypeRef.OfPrimitive(PrimitiveType.String, true, span),
    };

    /// <summary>
    /// Checks a value against the fields in scope and, when a target is given, against the target's
    /// type. Returns the value's type when it can be known.
    /// </summary>
    /// <param name="aggregateId">The id type of the aggregate whose event is in scope, which <c>$meta.aggregateId</c> is; null when unknown.</param>
    public static TypeRef? CheckValue(
        CheckContext context,
        ValueExpr value,
        IReadOnlyList<FieldDefinition> scope,
        string scopeName,
        FieldDefinition? target,
        TypeRef? aggregateId = null)
    {
        TypeRef? type;
        switch (value.Kind)
        {
            case ValueKind.Metadata when value.Metadata == MetadataField.AggregateId:
                // The stream id is the aggregate id as text; generated code reads it back as a guid or
                // a number only where the id is one (Expressions.Of), so a guid column fed by a
                // string-keyed aggregate failed when its row was written.
                if (aggregateId is not null && target is not null && !StreamIdFits(aggregateId, target.Type))
                {
                    context.Report(DiagnosticCodes.LiteralTypeMismatch, value.Span, value.Text, target.Name, target.Type.Display,
                        $"It is the stream id: the aggregate's id ({aggregateId.Display}) as text, which fits a string or a {aggregateId.Display}.");
                }
                return aggregateId;
            case ValueKind.Literal:
                if (target is not null && !LiteralFits(context, value, target.Type, out var hint))
                {
                    context.Report(DiagnosticCodes.LiteralTypeMismatch, value.Span, value.Text, target.Name, target.Type.Display, hint);
                }
                return null;
            case ValueKind.Metadata:
                type = MetadataType(value.Metadata, value.Span);
                break;
            case ValueKind.Field:
                type = Resolve(context, value, value.Path, scope, scopeName);
                break;
            case ValueKind.Count:
                {
                    var list = Resolve(context, value, value.Path, scope, scopeName);
                    if (list is not null && !IsCollection(list))
                    {
                        context.Report(DiagnosticCodes.OperationTypeMismatch, value.Span, "count", value.Path[0], list.Display, "count() needs a list or map.");
                    }
                    type = TypeRef.OfPrimitive(PrimitiveType.Int, false, value.Span);
                    break;
                }
            case ValueKind.Sum:
                {
                    type = SumOperand(context, value, value.Path, scope, scopeName);
                    if (!value.Factor.IsEmpty && SumOperand(context, value, value.Factor, scope, scopeName) is not null && type is not null)
                    {
                        type = TypeRef.OfPrimitive(PrimitiveType.Decimal, false, value.Span);
                    }
                    break;
                }
            default:
                return null;
        }

        if (type is not null && target is not null && !Assignable(context, type, target.Type))
        {
            context.Report(DiagnosticCodes.LiteralTypeMismatch, value.Span, value.Text, target.Name, target.Type.Display, $"It is {type.Display}.");
        }
        else if (type is not null && target is not null && NoDefaultWhenAbsent(context, type, target.Type))
        {
            context.Report(DiagnosticCodes.LiteralTypeMismatch, value.Span, value.Text, target.Name, target.Type.Display,
                $"It is optional ({type.Display}), and an absent {type.Name} has no default. Make '{target.Name}' optional.");
        }
        return type;
    }

    private static TypeRef? SumOperand(CheckContext context, ValueExpr value, EquatableArray<string> path, IReadOnlyList<FieldDefinition> scope, string scopeName)
    {
        var list = Resolve(context, value, new EquatableArray<string>(new[] { path[0] }), scope, scopeName);
        if (list is null) return null;
        if (list.Kind != TypeKind.List)
        {
            context.Report(DiagnosticCodes.OperationTypeMismatch, value.Span, "sum", path[0], list.Display, "sum() needs a list of a value type.");
            return null;
        }
        var members = MembersOf(context, list.Element);
        var member = Find(members, path[1]);
        if (member is null)
        {
            context.Report(DiagnosticCodes.UnknownMessageField, value.Span, path[1], $"the elements of '{path[0]}'", members is null ? "none" : CheckContext.Names(NamesOf(members)));
            return null;
        }
        if (!IsNumeric(member.Type))
        {
            context.Report(DiagnosticCodes.OperationTypeMismatch, value.Span, "sum", path[1], member.Type.Display, "sum() adds numbers.");
            return null;
        }
        return member.Type;
    }

    private static TypeRef? Resolve(CheckContext context, ValueExpr value, EquatableArray<string> path, IReadOnlyList<FieldDefinition> scope, string scopeName)
    {
        IReadOnlyList<FieldDefinition>? fields = scope;
        var where = scopeName;
        TypeRef? type = null;
        foreach (var segment in path)
        {
            var field = Find(fields, segment);
            if (field is null)
            {
                context.Report(DiagnosticCodes.UnknownMessageField, value.Span, segment, where, fields is null ? "none" : CheckContext.Names(NamesOf(fields)));
                return null;
            }
            type = field.Type;
            fields = MembersOf(context, type);
            where = $"'{segment}' ({type.Display})";
        }
        return type;
    }

    /// <summary>
    /// Why the field <paramref name="name"/> of <paramref name="fields"/> cannot hold a deadline (a
    /// saga's or step's <c>timeout: $field</c>, a reaction's <c>at: $field</c>), which must be a required
    /// timestamp; null when it can. <paramref name="owner"/> says whose fields they are, and
    /// <paramref name="withoutIt"/> what an instance without a value would lack.
    /// </summary>
    public static string? NotADeadline(IReadOnlyList<FieldDefinition> fields, string name, string owner, string withoutIt)
    {
        var field = Find(fields, name);
        return field is null ? $"is not a field of {owner} (fields: {CheckContext.Names(NamesOf(fields))})"
            : field.Type is not { Kind: TypeKind.Primitive, Primitive: PrimitiveType.Timestamp } ? $"is {field.Type.Display}, not a timestamp"
            : field.Type.IsOptional ? $"is optional ({field.Type.Display}): {withoutIt}"
            : null;
    }

    public static FieldDefinition? Find(IReadOnlyList<FieldDefinition>? fields, string name)
    {
        if (fields is null) return null;
        if (fields is FieldScope scope) return scope.Find(name);
        foreach (var field in fields)
        {
            if (field.Name == name) return field;
        }
        return null;
    }

    public static IEnumerable<string> NamesOf(IEnumerable<FieldDefinition> fields)
    {
        foreach (var field in fields) yield return field.Name;
    }

    public static bool LiteralFits(CheckContext context, ValueExpr literal, TypeRef target, out string hint)
    {
        hint = string.Empty;
        if (literal.LiteralKind == LiteralKind.Null)
        {
            hint = "Only optional fields (type ending in '?') can be null.";
            return target.IsOptional;
        }
        var members = EnumMembersOf(context, target);
        if (members is not null)
        {
            hint = "Use one of: " + CheckContext.Names(members.Value) + ".";
            foreach (var member in members.Value)
            {
                if (member == literal.Text) return true;
            }
            return false;
        }
        if (target.Kind != TypeKind.Primitive)
        {
            hint = "Only numbers, text, booleans and enum members can be written as literals.";
            return false;
        }
        var text = literal.Text;
        switch (target.Primitive)
        {
            case PrimitiveType.String:
                return true;
            case PrimitiveType.Int:
                hint = "Write a whole number.";
                return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
            case PrimitiveType.Long:
                hint = "Write a whole number.";
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
            case PrimitiveType.Decimal:
            case PrimitiveType.Double:
                hint = "Write a number.";
                return decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _);
            case PrimitiveType.Bool:
                hint = "Write true or false.";
                return literal.LiteralKind == LiteralKind.Bool;
            case PrimitiveType.Guid:
                hint = "Write a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301.";
                return System.Guid.TryParse(text, out _);
            case PrimitiveType.Timestamp:
            case PrimitiveType.Date:
                hint = "Write an ISO 8601 date or timestamp.";
                return System.DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);
            default:
                return false;
        }
    }
}
