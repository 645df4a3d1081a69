using System.Collections.Generic;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>Value types and enums declared under <c>types:</c>, and enums written in place.</summary>
internal static class TypesEmitter
{
    public static void ValueType(CodeWriter w, ValueTypeDefinition type, TypeIndex index)
    {
        w.Line($"/// <summary>The value type <c>{type.Name}</c>.</summary>");
        w.Line(SourceFile.GeneratedCode);
        RecordEmitter.Record(w, type.Name, type.Namespace, type.Fields, index);
        using (w.Block(""))
        {
            new JsonEmitter(type.Namespace, index).EmitRecordMembers(w, type.Name, type.Name, type.Fields);
        }
        if (index.FindType(type.Name) is not { Validates: true }) return;
        // Its members' constraints, checked by the commands that hold it (explicitly implemented:
        // no member name of the declared type can clash).
        w.Line();
        using (w.Block($"partial record {type.Name} : global::Platform.Commands.IValidatable"))
        {
            if (FieldChecks.EmitPatterns(w, type.Fields, blankFirst: false) > 0) w.Line();
            using (w.Block("void global::Platform.Commands.IValidatable.Validate(string path, ref global::System.Collections.Generic.List<string>? errors)"))
            {
                foreach (var field in type.Fields)
                    FieldChecks.Emit(w, field, index, "path");
            }
        }
    }

    public static void Enum(CodeWriter w, string name, IReadOnlyList<string> members)
    {
        w.Line($"/// <summary>The enum <c>{name}</c>; stored and sent by member name.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public enum {name}"))
        {
            foreach (var member in members)
                w.Line(member + ",");
        }
        w.Line();
        w.Line($"/// <summary>JSON names of <see cref=\"{name}\"/>, without reflection.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public static class {name}Json"))
        {
            using (w.Block($"public static string ToName({name} value) => value switch"))
            {
                foreach (var member in members)
                    w.Line($"{name}.{member} => {CSharpLiteral.String(member)},");
                w.Line("_ => throw new global::System.ArgumentOutOfRangeException(nameof(value), value, null),");
            }
            w.Line(";");
            w.Line();
            using (w.Block($"public static {name} Parse(string name) => name switch"))
            {
                foreach (var member in members)
                    w.Line($"{CSharpLiteral.String(member)} => {name}.{member},");
                w.Line($"_ => throw new global::System.Text.Json.JsonException({CSharpLiteral.String("'")} + name + {CSharpLiteral.String("' is not a member of " + name)}),");
            }
            w.Line(";");
            w.Line();
            using (w.Block($"public static {name} Read(ref global::System.Text.Json.Utf8JsonReader reader)"))
            {
                foreach (var member in members)
                    w.Line($"if (reader.ValueTextEquals({CSharpLiteral.String(member)}u8)) return {name}.{member};");
                w.Line("return Parse(reader.GetString() ?? \"\");");
            }
        }
    }

    /// <summary>Enums written in place (<c>status: { enum: [...] }</c>) among the given fields.</summary>
    public static void CollectInlineEnums(IEnumerable<FieldDefinition> fields, Dictionary<string, TypeRef> into)
    {
        foreach (var field in fields)
            Collect(field.Type, into);
    }

    static void Collect(TypeRef type, Dictionary<string, TypeRef> into)
    {
        if (type.Kind == TypeKind.Enum && !into.ContainsKey(type.Name)) into.Add(type.Name, type);
        if (type.Element is not null) Collect(type.Element, into);
        if (type.Key is not null) Collect(type.Key, into);
    }
}

/// <summary>Positional records for messages and value types.</summary>
internal static class RecordEmitter
{
    /// <summary>Writes <c>public sealed partial record Name(T A, U B)</c> without a body.</summary>
    public static void Record(CodeWriter w, string name, string ns, EquatableArray<FieldDefinition> fields, TypeIndex index)
    {
        if (fields.Count == 0)
        {
            w.Line($"public sealed partial record {name}()");
            return;
        }
        w.Line($"public sealed partial record {name}(");
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            w.Line($"    {CSharpTypes.Of(field.Type, ns, index)} {Names.Pascal(field.Name)}{(i + 1 < fields.Count ? "," : ")")}");
        }
    }
}
