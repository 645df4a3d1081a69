using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Loading;

public static partial class DefinitionLoader
{
    private static readonly string[] FieldKeys = { "type", "enum", "optional", "min", "max", "maxLength", "nonEmpty", "pattern", "personal", "description" };

    /// <summary><c>name: type</c>, <c>name: { type: ..., min: 0 }</c> or <c>name: { enum: [A, B] }</c>.</summary>
    private static EquatableArray<FieldDefinition> ReadFields(LoadContext context, YamlNode? node, string owner, string what)
    {
        var mapping = context.Mapping(node, what);
        if (mapping is null) return EquatableArray<FieldDefinition>.Empty;
        var fields = new List<FieldDefinition>(mapping.Entries.Count);
        foreach (var entry in mapping.Entries)
        {
            var field = ReadField(context, entry.Key, entry.Value, owner);
            if (field is not null) fields.Add(field);
        }
        return new EquatableArray<FieldDefinition>(fields);
    }

    private static FieldDefinition? ReadField(LoadContext context, YamlScalar key, YamlNode value, string owner)
    {
        var what = $"field '{key.Value}'";
        if (value is YamlScalar scalar)
        {
            if (scalar.IsNull)
            {
                context.Report(DiagnosticCodes.MissingKey, key.Span, what, "type");
                return null;
            }
            var type = TypeParser.Parse(context, scalar);
            return type is null ? null : new FieldDefinition(key.Value, type, null, null, key.Span);
        }

        var mapping = context.Mapping(value, what);
        if (mapping is null) return null;
        context.AllowKeys(mapping, what, FieldKeys);
        var optional = context.Bool(mapping, "optional", what, false);
        TypeRef? typeRef;
        var enumNode = mapping.Find("enum");
        if (enumNode is not null)
        {
            var members = ReadEnumMembers(context, enumNode, what);
            typeRef = new TypeRef(TypeKind.Enum, PrimitiveType.None, owner + LoadContext.Pascal(key.Value), null, null,
                new EquatableArray<string>(members.ConvertAll(m => m.Name)), optional, enumNode.Span);
        }
        else
        {
            var typeScalar = context.Scalar(mapping.Find("type"), $"'type' of {what}");
            if (typeScalar is null)
            {
                if (mapping.Find("type") is null) context.Report(DiagnosticCodes.MissingKey, key.Span, what, "type");
                return null;
            }
            typeRef = TypeParser.Parse(context, typeScalar);
            if (typeRef is null) return null;
            if (optional) typeRef = typeRef with { IsOptional = true };
        }

        FieldConstraints? constraints = null;
        if (mapping.Find("min") is not null || mapping.Find("max") is not null || mapping.Find("maxLength") is not null || mapping.Find("nonEmpty") is not null
            || mapping.Find("pattern") is not null)
        {
            constraints = new FieldConstraints(
                context.Decimal(mapping.Find("min"), "minimum"),
                context.Decimal(mapping.Find("max"), "maximum"),
                context.PositiveInt(mapping.Find("maxLength"), "maximum length"),
                context.Bool(mapping, "nonEmpty", what, false),
                context.OptionalString(mapping, "pattern", what),
                mapping.Find("pattern")?.Span);
        }
        // Kept only when true, at the key, where its checks point.
        var personal = context.Bool(mapping, "personal", what, false) ? mapping.FindKey("personal")!.Span : (SourceSpan?)null;
        return new FieldDefinition(key.Value, typeRef, constraints, context.OptionalString(mapping, "description", what), key.Span, personal);
    }

    private static List<EnumMember> ReadEnumMembers(LoadContext context, YamlNode node, string what)
    {
        var members = new List<EnumMember>();
        if (node is not YamlSequence)
        {
            context.Report(DiagnosticCodes.WrongNodeKind, node.Span, $"'enum' of {what}", "a list of member names", node.Describe());
            return members;
        }
        foreach (var scalar in context.ScalarList(node, $"a member of {what}"))
        {
            members.Add(new EnumMember(scalar.Value, scalar.Span));
        }
        return members;
    }

    /// <summary>Value types and enums under <c>types:</c>.</summary>
    private static (EquatableArray<ValueTypeDefinition> Types, EquatableArray<EnumTypeDefinition> Enums) ReadTypes(LoadContext context, YamlNode? node, string ns)
    {
        var mapping = context.Mapping(node, "'types'");
        if (mapping is null) return (EquatableArray<ValueTypeDefinition>.Empty, EquatableArray<EnumTypeDefinition>.Empty);
        var types = new List<ValueTypeDefinition>();
        var enums = new List<EnumTypeDefinition>();
        foreach (var entry in mapping.Entries)
        {
            var body = context.Mapping(entry.Value, $"type '{entry.Key.Value}'");
            if (body is null) continue;
            var enumNode = body.Find("enum");
            if (enumNode is not null && body.Entries.Count == 1)
            {
                enums.Add(new EnumTypeDefinition(entry.Key.Value, ns, new EquatableArray<EnumMember>(ReadEnumMembers(context, enumNode, $"enum '{entry.Key.Value}'")), entry.Key.Span));
            }
            else
            {
                types.Add(new ValueTypeDefinition(entry.Key.Value, ns, ReadFields(context, body, entry.Key.Value, $"type '{entry.Key.Value}'"), entry.Key.Span));
            }
        }
        return (new EquatableArray<ValueTypeDefinition>(types), new EquatableArray<EnumTypeDefinition>(enums));
    }

    /// <summary><c>target: value</c> assignments used by emits, saga sends and reactions.</summary>
    private static EquatableArray<FieldAssignment> ReadAssignments(LoadContext context, YamlNode? node, string what)
    {
        var mapping = context.Mapping(node, what);
        if (mapping is null) return EquatableArray<FieldAssignment>.Empty;
        var result = new List<FieldAssignment>(mapping.Entries.Count);
        foreach (var entry in mapping.Entries)
        {
            var value = ExpressionParser.Parse(context, entry.Value, $"the value of '{entry.Key.Value}'");
            if (value is not null) result.Add(new FieldAssignment(entry.Key.Value, value, entry.Key.Span));
        }
        return new EquatableArray<FieldAssignment>(result);
    }

    private static readonly string[] UpdateKeys = { "set", "add", "remove", "by", "increment", "decrement" };

    /// <summary><c>field: value</c> or <c>field: { add | remove (by) | increment | decrement | set: value }</c>.</summary>
    private static EquatableArray<StateUpdate> ReadUpdates(LoadContext context, YamlNode? node, string what)
    {
        var mapping = context.Mapping(node, what);
        if (mapping is null) return EquatableArray<StateUpdate>.Empty;
        var result = new List<StateUpdate>(mapping.Entries.Count);
        foreach (var entry in mapping.Entries)
        {
            var target = entry.Key.Value;
            if (entry.Value is YamlMapping operation)
            {
                context.AllowKeys(operation, $"the update of '{target}'", UpdateKeys);
                var (kind, valueNode) = operation.Find("add") is { } add ? (UpdateOperation.Add, add)
                    : operation.Find("remove") is { } remove ? (UpdateOperation.Remove, remove)
                    : operation.Find("increment") is { } increment ? (UpdateOperation.Increment, increment)
                    : operation.Find("decrement") is { } decrement ? (UpdateOperation.Decrement, decrement)
                    : (UpdateOperation.Set, operation.Find("set"));
                if (valueNode is null)
                {
                    context.Report(DiagnosticCodes.MissingKey, entry.Key.Span, $"the update of '{target}'", "set, add, remove, increment or decrement");
                    continue;
                }
                var value = ExpressionParser.Parse(context, valueNode, $"the update of '{target}'");
                var by = context.OptionalString(operation, "by", $"the update of '{target}'");
                if (value is not null) result.Add(new StateUpdate(target, kind, value, by, entry.Key.Span));
            }
            else
            {
                var value = ExpressionParser.Parse(context, entry.Value, $"the value of '{target}'");
                if (value is not null) result.Add(new StateUpdate(target, UpdateOperation.Set, value, null, entry.Key.Span));
            }
        }
        return new EquatableArray<StateUpdate>(result);
    }

    private static readonly string[] ConditionKeys = { "eq", "ne", "in", "notIn", "gt", "ge", "lt", "le", "nonEmpty" };

    /// <summary><c>field: value</c> (equal), <c>field: [a, b]</c> (in), or <c>field: { gt: 0 }</c> and friends.</summary>
    private static EquatableArray<Condition> ReadConditions(LoadContext context, YamlNode? node, string what)
    {
        var mapping = context.Mapping(node, what);
        if (mapping is null) return EquatableArray<Condition>.Empty;
        var result = new List<Condition>();
        foreach (var entry in mapping.Entries)
        {
            var subject = entry.Key.Value;
            switch (entry.Value)
            {
                case YamlSequence sequence:
                    result.Add(new Condition(subject, ConditionOperator.In, Operands(context, sequence, subject), entry.Key.Span));
                    break;
                case YamlMapping operators:
                    context.AllowKeys(operators, $"the condition on '{subject}'", ConditionKeys);
                    foreach (var op in operators.Entries)
                    {
                        var kind = op.Key.Value switch
                        {
                            "eq" => ConditionOperator.Equal,
                            "ne" => ConditionOperator.NotEqual,
                            "in" => ConditionOperator.In,
                            "notIn" => ConditionOperator.NotIn,
                            "gt" => ConditionOperator.GreaterThan,
                            "ge" => ConditionOperator.GreaterOrEqual,
                            "lt" => ConditionOperator.LessThan,
                            "le" => ConditionOperator.LessOrEqual,
                            "nonEmpty" => ConditionOperator.NonEmpty,
                            _ => (ConditionOperator?)null,
                        };
                        if (kind is null) continue;
                        var operands = kind == ConditionOperator.NonEmpty ? EquatableArray<ValueExpr>.Empty : Operands(context, op.Value, subject);
                        result.Add(new Condition(subject, kind.Value, operands, op.Key.Span, entry.Key.Span));
                    }
                    break;
                default:
                    var single = ExpressionParser.Parse(context, entry.Value, $"the condition on '{subject}'");
                    if (single is not null) result.Add(new Condition(subject, ConditionOperator.Equal, EquatableArray.Of(single), entry.Key.Span));
                    break;
            }
        }
        return new EquatableArray<Condition>(result);
    }

    private static EquatableArray<ValueExpr> Operands(LoadContext context, YamlNode node, string subject)
    {
        var result = new List<ValueExpr>();
        var items = node is YamlSequence sequence ? sequence.Items : new List<YamlNode> { node };
        foreach (var item in items)
        {
            var value = ExpressionParser.Parse(context, item, $"a value of the condition on '{subject}'");
            if (value is not null) result.Add(value);
        }
        return new EquatableArray<ValueExpr>(result);
    }

    private static EquatableArray<NameRef> Names(LoadContext context, YamlNode? node, string what) =>
        new(context.ScalarList(node, what).ConvertAll(s => new NameRef(s.Value, s.Span)));

    private static NameRef? Name(LoadContext context, YamlMapping mapping, string key, string what, bool required)
    {
        var node = mapping.Find(key);
        if (node is null)
        {
            if (required) context.Report(DiagnosticCodes.MissingKey, mapping.Span, what, key);
            return null;
        }
        var scalar = context.Scalar(node, $"'{key}' of {what}");
        if (scalar is null) return null;
        if (scalar.IsNull)
        {
            context.Report(DiagnosticCodes.MissingKey, mapping.FindKey(key)!.Span, $"'{key}' of {what}", "a name");
            return null;
        }
        return new NameRef(scalar.Value, scalar.Span);
    }
}
