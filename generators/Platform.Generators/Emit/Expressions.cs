using System;
using System.Globalization;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// Where a YAML expression reads from: <c>$field</c> resolves through <see cref="Field"/>,
/// <c>$meta.x</c> through <see cref="Metadata"/>, and a field's declared type through
/// <see cref="TypeOf"/> (null where unknown), which values are converted from. Every name reaching
/// C# here has been checked as an identifier; every literal is converted for its target type or escaped.
/// </summary>
internal sealed class ExpressionScope(Func<string, string> field, Func<MetadataField, string> metadata, Func<string, TypeRef?>? type = null)
{
    public string Field(string name) => field(name);

    public TypeRef? TypeOf(string name) => type?.Invoke(name);

    /// <summary>The declared types of <paramref name="fields"/>, by name.</summary>
    public static Func<string, TypeRef?> Types(System.Collections.Generic.IEnumerable<FieldDefinition> fields)
    {
        var types = new System.Collections.Generic.Dictionary<string, TypeRef>();
        foreach (var field in fields) types[field.Name] = field.Type;
        return name => types.TryGetValue(name, out var found) ? found : null;
    }

    public string Metadata(MetadataField name) => metadata(name);

    /// <summary>Reads metadata from an <c>EventEnvelope</c> expression; <paramref name="nullable"/> when it is absent before append.</summary>
    public static Func<MetadataField, string> FromEnvelope(string envelope, bool nullable) => name =>
    {
        var e = nullable ? envelope + "?" : envelope;
        string Or(string value, string fallback) => nullable ? $"({value} ?? {fallback})" : value;
        return name switch
        {
            MetadataField.EventId => Or($"{e}.EventId", "global::System.Guid.Empty"),
            MetadataField.Timestamp => Or($"{e}.Timestamp", "global::System.DateTimeOffset.UnixEpoch"),
            MetadataField.AggregateId => Or($"{e}.StreamId", "\"\""),
            MetadataField.Version => Or($"{e}.StreamVersion", "0L"),
            MetadataField.CorrelationId => $"{e}.CorrelationId",
            MetadataField.CausationId => $"{e}.CausationId",
            MetadataField.UserId => $"{e}.Metadata.UserId",
            MetadataField.TraceId => $"{e}.Metadata.TraceParent",
            _ => "default",
        };
    };
}

internal static class Expressions
{
    /// <summary>
    /// <c>.AddMilliseconds(n)</c> after a deadline's field for <c>$field + 30m</c> or <c>$field - 1h</c>
    /// (a saga's or step's timeout, a reaction's <c>at:</c>); empty for the field's own instant.
    /// </summary>
    public static string DeadlineOffset(Duration deadline) => deadline.DeadlineOffset == 0
        ? ""
        : $".AddMilliseconds({deadline.DeadlineOffset.ToString(System.Globalization.CultureInfo.InvariantCulture)})";

    /// <summary>
    /// The fields of an event in scope, on <paramref name="record"/>. An aggregate's event carries
    /// the aggregate's id implicitly (the checks let <c>$orderId</c> name it) as its stream id, not as
    /// a member of its record: that one is <paramref name="streamId"/> read back as the id's type.
    /// </summary>
    /// <param name="streamId">C# for the event's stream id, e.g. <c>envelope.StreamId</c>.</param>
    /// <param name="mayBeNull">Whether <paramref name="streamId"/> can be null (an apply without an envelope): the id's empty value then.</param>
    public static Func<string, string> EventFields(string record, MessageShape e, TypeIndex index, string streamId, bool mayBeNull = false)
    {
        var aggregate = e.Aggregate is null ? null : index.FindAggregate(e.Aggregate);
        return name => aggregate is not null && name == aggregate.IdName && !Has(e, name)
            ? StreamIdAs(streamId, aggregate.IdRef, mayBeNull)
            : record + "." + Names.Pascal(name);
    }

    /// <summary>The declared types of an event's fields, its implicit aggregate id among them (see <see cref="EventFields"/>).</summary>
    public static Func<string, TypeRef?> EventTypes(MessageShape e, TypeIndex index)
    {
        var aggregate = e.Aggregate is null ? null : index.FindAggregate(e.Aggregate);
        return name =>
        {
            foreach (var field in e.Fields)
                if (field.Name == name) return field.Ref;
            return aggregate is not null && name == aggregate.IdName ? aggregate.IdRef : null;
        };
    }

    // Whether the record of the message has a member for the field.
    static bool Has(MessageShape message, string name)
    {
        foreach (var field in message.Fields)
            if (field.Name == name) return true;
        return false;
    }

    /// <summary>A stream id read back as the aggregate id it is the invariant text of (AggregateEmitter.IdText).</summary>
    public static string StreamIdAs(string streamId, TypeRef id, bool mayBeNull)
    {
        var empty = id.Primitive switch
        {
            PrimitiveType.Guid => "00000000-0000-0000-0000-000000000000",
            PrimitiveType.Int or PrimitiveType.Long => "0",
            _ => "",
        };
        var text = mayBeNull ? $"({streamId} ?? {CSharpLiteral.String(empty)})" : streamId;
        return id.Primitive switch
        {
            PrimitiveType.Guid => $"global::System.Guid.Parse({text})",
            PrimitiveType.Int => $"int.Parse({text}, global::System.Globalization.CultureInfo.InvariantCulture)",
            PrimitiveType.Long => $"long.Parse({text}, global::System.Globalization.CultureInfo.InvariantCulture)",
            _ => text,
        };
    }

    /// <summary>C# for <paramref name="value"/> as a value of <paramref name="target"/>.</summary>
    public static string Of(ValueExpr value, TypeRef? target, ExpressionScope scope, string ns, TypeIndex index)
    {
        switch (value.Kind)
        {
            case ValueKind.Literal:
                return Literal(value, target, ns, index);
            case ValueKind.Field:
            {
                // A member read through an optional value that is unset is absent: null, or for a
                // required target the type's default (empty text, 0).
                var (text, type, throughOptional) = Read(value.Path, scope, index);
                if (type is null) return throughOptional ? Absent(text, target, ns, index) : Convert(text, null, target, ns, index);
                return Convert(text, throughOptional ? type with { IsOptional = true } : type, target, ns, index);
            }
            case ValueKind.Metadata when value.Metadata == MetadataField.AggregateId && target is { Kind: TypeKind.Primitive } id:
                // The stream id is the aggregate id as invariant text (AggregateEmitter.IdText): read it back as the target's type.
                return id.Primitive switch
                {
                    PrimitiveType.Guid => $"global::System.Guid.Parse({scope.Metadata(value.Metadata)})",
                    PrimitiveType.Int => $"int.Parse({scope.Metadata(value.Metadata)}, global::System.Globalization.CultureInfo.InvariantCulture)",
                    PrimitiveType.Long => $"long.Parse({scope.Metadata(value.Metadata)}, global::System.Globalization.CultureInfo.InvariantCulture)",
                    _ => scope.Metadata(value.Metadata),
                };
            case ValueKind.Metadata when value.Metadata is MetadataField.CorrelationId or MetadataField.CausationId or MetadataField.UserId or MetadataField.TraceId
                                         && target is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.String, IsOptional: false }:
                // Text that is absent when the command had none: empty where the target cannot be null.
                return $"({scope.Metadata(value.Metadata)} ?? \"\")";
            case ValueKind.Metadata:
                return Convert(scope.Metadata(value.Metadata), value.Metadata == MetadataField.Timestamp ? TimestampType : null, target, ns, index);
            case ValueKind.Count:
                // An optional list that is unset counts none.
                return scope.TypeOf(value.Path[0]) is { IsOptional: true } ? $"({Path(value.Path, scope)}?.Count ?? 0)" : $"{Path(value.Path, scope)}.Count";
            case ValueKind.Sum:
            {
                // sum($items.price) or sum($items.price * $items.quantity): the list is the first segment.
                var list = scope.Field(value.Path[0]);
                var member = value.Path.Count > 1 ? "x." + Names.Pascal(value.Path[1]) : "x";
                var factor = value.Factor.Count > 1 ? " * x." + Names.Pascal(value.Factor[1]) : string.Empty;
                var sum = $"global::System.Linq.Enumerable.Sum({list}, x => {member}{factor})";
                if (scope.TypeOf(value.Path[0]) is { IsOptional: true })
                    sum = $"({list} is null ? 0 : {sum})"; // an optional list that is unset sums to 0
                return target is { Kind: TypeKind.Primitive } t ? $"({CSharpTypes.Primitive(t.Primitive)}){sum}" : sum;
            }
            default:
                return "default";
        }
    }

    static readonly TypeRef TimestampType = TypeRef.OfPrimitive(PrimitiveType.Timestamp, false, default);

    /// <summary>
    /// C# for <paramref name="value"/>, of the declared type <paramref name="source"/> (null: unknown),
    /// as a value of <paramref name="target"/> (in <paramref name="targetNamespace"/>), for what the
    /// checks allow that C# does not convert by itself (Typing.Assignable): a timestamp to a date
    /// (its calendar date), an enum to another enum of the same members (each inline enum is a
    /// type of its own) or to text, and text to an enum (the member of that name); and an optional
    /// value of a value type, optional text, list or map, to a required field, which takes the type's
    /// default (empty text, an empty list or map) when it is absent (as a saga's command does with data
    /// a reply has not filled yet).
    /// </summary>
    public static string Convert(string value, TypeRef? source, TypeRef? target, string targetNamespace, TypeIndex index)
    {
        if (target is null) return value;
        if (target is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.Date } && source is null or { Kind: TypeKind.Primitive, Primitive: PrimitiveType.Timestamp })
            value = $"global::Platform.Events.Dates.ToDate({value})";
        if (source is null) return value;
        var sourceEnum = IsEnum(source, index);
        var targetEnum = IsEnum(target, index);
        if (sourceEnum && targetEnum && !(source.Kind == TypeKind.Named && target.Kind == TypeKind.Named && source.Name == target.Name)
            || targetEnum && source is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.String })
        {
            var type = CSharpTypes.Of(target with { IsOptional = false }, targetNamespace, index);
            return target.IsOptional ? $"global::Platform.Events.Enums.ToOptional<{type}>({value})" : $"global::Platform.Events.Enums.To<{type}>({value})";
        }
        if (sourceEnum && target is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.String })
            return source.IsOptional ? $"{value}?.ToString(){(target.IsOptional ? "" : " ?? \"\"")}" : $"{value}.ToString()";
        return source.IsOptional && !target.IsOptional ? OrDefault(value, target, targetNamespace, index) : value;
    }

    /// <summary>
    /// <c>increment:</c> or <c>decrement:</c> of <paramref name="property"/> by <paramref name="value"/>. An
    /// optional number counts from 0 while unset: <c>+=</c> on null would leave it null for ever.
    /// </summary>
    public static string Increment(string property, UpdateOperation operation, TypeRef target, string value)
    {
        var op = operation == UpdateOperation.Increment ? "+" : "-";
        return target.IsOptional ? $"{property} = ({property} ?? 0) {op} ({value})" : $"{property} {op}= {value}";
    }

    static bool IsEnum(TypeRef type, TypeIndex index) =>
        type.Kind == TypeKind.Enum || type.Kind == TypeKind.Named && index.FindType(type.Name)?.IsEnum == true;

    static string Path(EquatableArray<string> path, ExpressionScope scope)
    {
        var text = scope.Field(path[0]);
        for (var i = 1; i < path.Count; i++)
            text += "." + Names.Pascal(path[i]);
        return text;
    }

    /// <summary>Whether a field path's value may be absent: the field, or a value it is read through, is optional.</summary>
    public static bool MayBeAbsent(ValueExpr value, Func<string, TypeRef?> types, TypeIndex index)
    {
        if (value.Kind != ValueKind.Field) return false;
        var (_, type, throughOptional) = Read(value.Path, new ExpressionScope(name => name, _ => "", types), index);
        return throughOptional || type is { IsOptional: true };
    }

    /// <summary>
    /// C# reading a field path (<c>$address.geo.zone</c>) with <c>?.</c> after each optional segment,
    /// the declared type of what it reads (null when unknown), and whether it went through an
    /// optional segment, so that it is null when that one is unset.
    /// </summary>
    static (string Text, TypeRef? Type, bool ThroughOptional) Read(EquatableArray<string> path, ExpressionScope scope, TypeIndex index)
    {
        var text = scope.Field(path[0]);
        var type = scope.TypeOf(path[0]);
        var throughOptional = false;
        for (var i = 1; i < path.Count; i++)
        {
            var optional = type is { IsOptional: true };
            text += (optional ? "?." : ".") + Names.Pascal(path[i]);
            throughOptional |= optional;
            type = type is { Kind: TypeKind.Named } && index.FindType(type.Name)?.Member(path[i]) is { } member ? member.Ref : null;
        }
        return (text, type, throughOptional);
    }

    // A value that may be null (a member read through an optional value) as a value of target.
    static string Absent(string value, TypeRef? target, string ns, TypeIndex index) =>
        target is null or { IsOptional: true } ? value : OrDefault(value, target, ns, index);

    // A value that may be null, for a required target: the type's default when absent, empty text,
    // an empty list or map (a null would break a required column or the state's non-null field).
    // An optional value type has no default; the checks refuse it there (Typing.CheckValue).
    static string OrDefault(string value, TypeRef target, string ns, TypeIndex index)
    {
        if (CSharpTypes.IsValueType(target, index)) return $"({value} ?? default)";
        if (target is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.String }) return $"({value} ?? \"\")";
        return target.Kind is TypeKind.List or TypeKind.Map ? $"({value} ?? {CSharpTypes.Default(target, ns, index)})" : value;
    }

    /// <summary>A literal converted for the type it is assigned to.</summary>
    public static string Literal(ValueExpr value, TypeRef? target, string ns, TypeIndex index)
    {
        if (value.LiteralKind == LiteralKind.Null) return "null";
        if (target is null)
        {
            return value.LiteralKind switch
            {
                LiteralKind.Number => value.Text,
                LiteralKind.Bool => value.Text.ToLowerInvariant(),
                _ => CSharpLiteral.String(value.Text),
            };
        }
        var text = value.Text;
        switch (target.Kind)
        {
            case TypeKind.Enum:
                return Names.Global(ns, target.Name) + "." + text;
            case TypeKind.Named:
            {
                var named = index.FindType(target.Name);
                if (named?.IsEnum == true) return Names.Global(named.Namespace, target.Name) + "." + text;
                return "default!";
            }
            case TypeKind.Primitive:
                return target.Primitive switch
                {
                    PrimitiveType.String => CSharpLiteral.String(text),
                    PrimitiveType.Int => Number(text, "", integer: true),
                    PrimitiveType.Long => Number(text, "L", integer: true),
                    PrimitiveType.Decimal => Number(text, "m", integer: false),
                    PrimitiveType.Double => Number(text, "d", integer: false),
                    PrimitiveType.Bool => text.Equals("true", StringComparison.OrdinalIgnoreCase) ? "true" : "false",
                    PrimitiveType.Guid => $"global::System.Guid.Parse({CSharpLiteral.String(text)})",
                    PrimitiveType.Timestamp => $"global::System.DateTimeOffset.Parse({CSharpLiteral.String(text)}, global::System.Globalization.CultureInfo.InvariantCulture)",
                    PrimitiveType.Date => $"global::System.DateOnly.ParseExact({CSharpLiteral.String(text)}, \"yyyy-MM-dd\", global::System.Globalization.CultureInfo.InvariantCulture)",
                    _ => CSharpLiteral.String(text),
                };
            default:
                return "default!";
        }
    }

    /// <summary>Numbers are re-printed from their parsed value, so no YAML text reaches the output.</summary>
    static string Number(string text, string suffix, bool integer)
    {
        if (integer && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
            return whole.ToString(CultureInfo.InvariantCulture) + suffix;
        if (!integer && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
            return real.ToString(CultureInfo.InvariantCulture) + suffix;
        return "default";
    }
}
