using System.Collections.Generic;
using System.Globalization;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>A command record and the validation its definition declares.</summary>
internal static class CommandEmitter
{
    /// <summary>The command's fields as C# sees them: an aggregate command starts with the aggregate id.</summary>
    public static EquatableArray<FieldDefinition> Fields(CommandDefinition command, AggregateId? id)
    {
        if (id is null) return command.Fields;
        foreach (var field in command.Fields)
            if (field.Name == id.Name) return command.Fields;
        var fields = new List<FieldDefinition> { new(id.Name, id.Type, null, null, id.Span) };
        fields.AddRange(command.Fields);
        return new EquatableArray<FieldDefinition>(fields.ToArray());
    }

    public static void Emit(CodeWriter w, CommandDefinition command, AggregateDefinition? aggregate, TypeIndex index)
    {
        var ns = command.Namespace;
        var fields = Fields(command, aggregate?.Id);
        w.Line($"/// <summary>The command <c>{command.Name}</c>.</summary>");
        w.Line(SourceFile.GeneratedCode);
        RecordEmitter.Record(w, command.Name, ns, fields, index);
        using (w.Block(""))
        {
            new JsonEmitter(ns, index).EmitRecordMembers(w, command.Name, command.Name, fields);
            FieldChecks.EmitPatterns(w, fields);
            w.Line();
            w.Line("/// <summary>Every declared constraint this command breaks; empty when it is valid.</summary>");
            using (w.Block("public global::System.Collections.Generic.IReadOnlyList<string> Validate()"))
            {
                w.Line("global::System.Collections.Generic.List<string>? errors = null;");
                var scope = new ExpressionScope(name => Names.Pascal(name), _ => "default", ExpressionScope.Types(fields));
                foreach (var field in fields)
                    FieldChecks.Emit(w, field, index, path: null);
                // Text the aggregate reads as an enum member: a name that is none is the sender's
                // mistake, refused with the others before anything runs, not a failure of the handler.
                foreach (var (field, target) in TextIntoEnums(command, aggregate, index))
                {
                    var property = Names.Pascal(field);
                    var type = CSharpTypes.Of(target with { IsOptional = false }, ns, index);
                    w.Line($"if ({property} is not null && !global::Platform.Events.Enums.IsMember<{type}>({property})) (errors ??= new()).Add({CSharpLiteral.String(field + " must be one of ")} + global::Platform.Events.Enums.Members<{type}>());");
                }
                foreach (var condition in command.Require)
                {
                    var subject = FindField(fields, condition.Subject);
                    var test = Conditions.Of(condition, Names.Pascal(condition.Subject), subject?.Type, scope, ns, index);
                    // On an optional field a requirement applies to a given value, as min: and max: do;
                    // nonEmpty asks for one.
                    if (subject is { Type.IsOptional: true } && condition.Operator != ConditionOperator.NonEmpty)
                        test = $"{Names.Pascal(condition.Subject)} is null || ({test})";
                    w.Line($"if (!({test})) (errors ??= new()).Add({CSharpLiteral.String(Conditions.Describe(condition))});");
                }
                w.Line("return errors ?? (global::System.Collections.Generic.IReadOnlyList<string>)global::System.Array.Empty<string>();");
            }
            w.Line();
            w.Line("/// <summary>Throws <see cref=\"global::Platform.Commands.CommandValidationException\"/> listing every broken constraint.</summary>");
            using (w.Block("public void EnsureValid()"))
            {
                w.Line("var errors = Validate();");
                w.Line($"if (errors.Count > 0) throw new global::Platform.Commands.CommandValidationException({CSharpLiteral.String(command.Name)}, errors);");
            }
        }
    }

    // The command's text fields an emitted event's enum field takes, by name or as '$field'; each
    // field once per enum type.
    static List<(string Field, TypeRef Target)> TextIntoEnums(CommandDefinition command, AggregateDefinition? aggregate, TypeIndex index)
    {
        var found = new List<(string, TypeRef)>();
        if (aggregate is null) return found;
        var seen = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (var emit in command.AllEmits)
        {
            if (AggregateEmitter.FindEvent(aggregate, emit.Event) is not { } emitted) continue;
            foreach (var target in emitted.Fields)
            {
                if (!(target.Type.Kind == TypeKind.Enum || target.Type.Kind == TypeKind.Named && index.FindType(target.Type.Name)?.IsEnum == true)) continue;
                var source = target.Name;
                foreach (var assignment in emit.Assignments)
                    if (assignment.Target == target.Name)
                        source = assignment.Value is { Kind: ValueKind.Field, Path.Count: 1 } value ? value.Path[0] : null;
                if (source is null || FindField(command.Fields, source) is not { Type: { Kind: TypeKind.Primitive, Primitive: PrimitiveType.String } }) continue;
                if (seen.Add(source + "\n" + target.Type.Display)) found.Add((source, target.Type));
            }
        }
        return found;
    }

    static FieldDefinition? FindField(EquatableArray<FieldDefinition> fields, string name)
    {
        foreach (var field in fields)
            if (field.Name == name) return field;
        return null;
    }
}
