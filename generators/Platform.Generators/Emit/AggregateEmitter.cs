using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Platform.Definitions;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// An aggregate: its state class with snapshot serialization, and a partial
/// <c>AggregateDefinition</c> with one <c>Handle</c> per command (validation, declared guards,
/// business-rule hooks, the events to append) and <c>Apply</c> as a switch over its events.
/// </summary>
internal static class AggregateEmitter
{
    public static void Emit(CodeWriter w, AggregateDefinition a, TypeIndex index)
    {
        var ns = a.Namespace;
        var state = a.Name + "State";

        EmitState(w, a, state, index);
        w.Line();
        EmitSnapshot(w, a, state);
        w.Line();

        w.Line($"/// <summary>The <c>{a.Name}</c> aggregate: commands in, events out, state from events.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {a.Name} : global::Platform.Persistence.AggregateDefinition<{state}>"))
        {
            w.Line($"public const string AggregateTypeName = {CSharpLiteral.String(a.Name)};");
            w.Line();
            w.Line($"/// <summary>The one instance the runtime uses.</summary>");
            w.Line($"public static {a.Name} Definition {{ get; }} = new();");
            w.Line();
            w.Line("public override string AggregateType => AggregateTypeName;");
            w.Line();
            if (a.SnapshotEvery is { } every)
            {
                w.Line($"public override int SnapshotEvery => {every.ToString(CultureInfo.InvariantCulture)};");
                w.Line();
                w.Line($"public override global::Platform.Events.SnapshotDescriptor<{state}> Snapshot => {state}Snapshot.Instance;");
                w.Line();
            }
            w.Line($"public override {state} CreateEmpty() => new();");
            w.Line();
            EmitIdentity(w, a, index);
            EmitCommands(w, a, state, index);
            EmitApply(w, a, state, index);
        }
    }

    static void EmitState(CodeWriter w, AggregateDefinition a, string state, TypeIndex index)
    {
        w.Line($"/// <summary>The state of one <c>{a.Name}</c>, rebuilt from its events.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {state}"))
        {
            foreach (var field in a.State)
            {
                var type = CSharpTypes.Of(field.Type, a.Namespace, index);
                var initial = CSharpTypes.Default(field.Type, a.Namespace, index);
                var init = initial is "default" or "null" ? string.Empty : $" = {initial};";
                w.Line($"public {type} {Names.Pascal(field.Name)} {{ get; internal set; }}{init}");
            }
            if (a.State.Count > 0) w.Line();
            new JsonEmitter(a.Namespace, index).EmitRecordMembers(w, state, a.Name + " snapshot", a.State, settable: true);
        }
    }

    static void EmitSnapshot(CodeWriter w, AggregateDefinition a, string state)
    {
        w.Line($"/// <summary>Snapshots of <see cref=\"{state}\"/>; a snapshot with another fingerprint is ignored and rebuilt from events.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed class {state}Snapshot : global::Platform.Events.SnapshotDescriptor<{state}>"))
        {
            w.Line($"public static {state}Snapshot Instance {{ get; }} = new();");
            w.Line();
            w.Line("/// <summary>Changes whenever a state field or its type, an apply rule, an upcast of a field an apply rule reads, or the declared snapshot revision changes.</summary>");
            w.Line($"public override string SchemaFingerprint => {CSharpLiteral.String(Fingerprint(a))};");
            w.Line();
            using (w.Block($"public override void Write({state} state, global::System.Buffers.IBufferWriter<byte> output)"))
            {
                w.Line("var json = new global::Platform.Serialization.JsonOutput(output);");
                w.Line($"{state}.WriteJson(ref json, state);");
                w.Line("json.Commit();");
            }
            w.Line();
            using (w.Block($"public override {state} Read(global::System.ReadOnlySpan<byte> utf8Json)"))
            {
                w.Line("var reader = new global::System.Text.Json.Utf8JsonReader(utf8Json);");
                w.Line("reader.Read();");
                w.Line($"return {state}.ReadJson(ref reader);");
            }
        }
    }

    // A snapshot is the fold of the stream up to its version, so it is stale when the state's
    // fields change, when an event's apply rules change, or when an upcast changes what a stored
    // earlier version of an event reads as in a field an apply rule reads. No source positions.
    static string Fingerprint(AggregateDefinition a)
    {
        var canonical = new StringBuilder();
        foreach (var field in a.State)
            canonical.Append(field.Name).Append(':').Append(field.Type.Display).Append(';');
        canonical.Append("fold/1;");
        foreach (var e in a.Events.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            canonical.Append("on=").Append(e.Name);
            DeclarationText.Updates(canonical, e.Apply);
            foreach (var read in DeclarationText.Reads(e.Apply.Select(u => u.Value)))
                if (DeclarationText.Lineage(e, read) is { Length: > 0 } lineage)
                    canonical.Append(":from=").Append(read).Append('<').Append(lineage).Append('>');
            canonical.Append(';');
        }
        if (a.SnapshotRevision > 1) canonical.Append("revision=").Append(a.SnapshotRevision.ToString(CultureInfo.InvariantCulture)).Append(';');
        return SourceFile.Hash(canonical.ToString());
    }

    static void EmitIdentity(CodeWriter w, AggregateDefinition a, TypeIndex index)
    {
        var id = Names.Pascal(a.Id.Name);
        w.Line("/// <summary>The stream id a command addresses: its aggregate id, invariant text.</summary>");
        using (w.Block("public static string StreamIdOf(object command) => command switch"))
        {
            foreach (var command in a.Commands)
                w.Line($"{command.Name} c => {IdText("c." + id, a.Id.Type)},");
            w.Line($"_ => throw new global::System.ArgumentException(command.GetType().Name + {CSharpLiteral.String(" is not a command of " + a.Name)}, nameof(command)),");
        }
        w.Line(";");
        w.Line();
    }

    static string IdText(string expression, TypeRef type) => type.Primitive switch
    {
        PrimitiveType.String => expression,
        PrimitiveType.Guid => expression + ".ToString(\"D\")",
        _ => expression + ".ToString(global::System.Globalization.CultureInfo.InvariantCulture)",
    };

    // What a command's conditions and emitted events read of the metadata its events will carry: the
    // sender's (CommandContext, or the bus message's headers). The rest exists only once stored
    // (DefinitionChecks refuse it there, PLT0415).
    static string CommandMetadata(MetadataField field) => field switch
    {
        MetadataField.UserId => "metadata?.UserId",
        MetadataField.CorrelationId => "metadata?.CorrelationId",
        MetadataField.CausationId => "metadata?.CausationId",
        MetadataField.TraceId => "metadata?.TraceParent",
        _ => "default",
    };

    static void EmitCommands(CodeWriter w, AggregateDefinition a, string state, TypeIndex index)
    {
        w.Line("/// <summary>Handles any command of this aggregate; see the typed overloads.</summary>");
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<object> Handle({state} state, long version, object command) => Handle(state, version, command, null);");
        w.Line();
        w.Line("/// <summary>Handles any command of this aggregate, with the metadata its events will carry (its conditions may read the user, correlation and causation).</summary>");
        using (w.Block($"public global::System.Collections.Generic.IReadOnlyList<object> Handle({state} state, long version, object command, global::Platform.Events.EventMetadata? metadata) => command switch"))
        {
            foreach (var command in a.Commands)
                w.Line($"{command.Name} c => Handle(state, version, c, metadata),");
            w.Line($"_ => throw new global::System.ArgumentException(command.GetType().Name + {CSharpLiteral.String(" is not a command of " + a.Name)}, nameof(command)),");
        }
        w.Line(";");

        var stateFields = new Dictionary<string, FieldDefinition>();
        foreach (var field in a.State) stateFields[field.Name] = field;

        foreach (var command in a.Commands)
        {
            var commandFields = new Dictionary<string, FieldDefinition>();
            foreach (var field in CommandEmitter.Fields(command, a.Id)) commandFields[field.Name] = field;
            var scope = new ExpressionScope(
                name => commandFields.ContainsKey(name) ? "command." + Names.Pascal(name) : "state." + Names.Pascal(name),
                CommandMetadata,
                name => commandFields.TryGetValue(name, out var field) ? field.Type : stateFields.TryGetValue(name, out var kept) ? kept.Type : null);
            var commandLiteral = CSharpLiteral.String(command.Name);
            var aggregateLiteral = CSharpLiteral.String(a.Name);

            w.Line();
            w.Line($"/// <summary>Hand-written rule for <see cref=\"{command.Name}\"/>: set <paramref name=\"rejection\"/> to refuse it.</summary>");
            w.Line($"partial void Check{command.Name}({state} state, {command.Name} command, ref string? rejection);");
            w.Line();
            w.Line($"/// <summary>Validates <see cref=\"{command.Name}\"/>, checks its guards against the state, and returns the events to append.</summary>");
            using (w.Block($"public global::System.Collections.Generic.IReadOnlyList<object> Handle({state} state, long version, {command.Name} command, global::Platform.Events.EventMetadata? metadata = null)"))
            {
                w.Line("command.EnsureValid();");
                w.Line(command.Creates
                    ? $"if (version != 0) throw new global::Platform.Commands.CommandRejectedException({commandLiteral}, {aggregateLiteral}, \"it already exists\");"
                    : $"if (version == 0) throw new global::Platform.Commands.CommandRejectedException({commandLiteral}, {aggregateLiteral}, \"it does not exist\");");
                foreach (var condition in command.When)
                {
                    stateFields.TryGetValue(condition.Subject, out var subject);
                    var test = Conditions.Of(condition, "state." + Names.Pascal(condition.Subject), subject?.Type, scope, a.Namespace, index);
                    w.Line($"if (!({test})) throw new global::Platform.Commands.CommandRejectedException({commandLiteral}, {aggregateLiteral}, {CSharpLiteral.String(Conditions.Describe(condition))});");
                }
                w.Line("string? rejection = null;");
                w.Line($"Check{command.Name}(state, command, ref rejection);");
                w.Line($"if (rejection is not null) throw new global::Platform.Commands.CommandRejectedException({commandLiteral}, {aggregateLiteral}, rejection);");
                // The first branch whose conditions hold emits its events instead of the command's.
                foreach (var branch in command.Instead)
                {
                    var tests = new List<string>();
                    foreach (var condition in branch.When)
                    {
                        stateFields.TryGetValue(condition.Subject, out var subject);
                        tests.Add(Conditions.Of(condition, "state." + Names.Pascal(condition.Subject), subject?.Type, scope, a.Namespace, index));
                    }
                    foreach (var condition in branch.Where)
                        tests.Add(Conditions.Of(condition, "command." + Names.Pascal(condition.Subject), scope.TypeOf(condition.Subject), scope, a.Namespace, index));
                    if (tests.Count == 0) continue;
                    using (w.Block($"if ({string.Join(" && ", tests.Select(test => "(" + test + ")"))})"))
                        EmitEvents(w, a, branch.Emits, commandFields, scope, index);
                }
                EmitEvents(w, a, command.Emits, commandFields, scope, index);
            }
        }
    }

    // return new object[] { new E(...), ... }: each event's fields from its assignments, else the
    // command's field of the same name.
    static void EmitEvents(CodeWriter w, AggregateDefinition a, EquatableArray<EmitDefinition> emits, Dictionary<string, FieldDefinition> commandFields,
        ExpressionScope scope, TypeIndex index)
    {
        w.Line("return new object[]");
        w.Line("{");
        foreach (var emit in emits)
        {
            var e = FindEvent(a, emit.Event);
            if (e is null) continue;
            w.Append($"    new {e.Name}(");
            for (var i = 0; i < e.Fields.Count; i++)
            {
                var field = e.Fields[i];
                var assigned = FindAssignment(emit, field.Name);
                var value = assigned is not null
                    ? Expressions.Of(assigned.Value, field.Type, scope, a.Namespace, index)
                    : commandFields.ContainsKey(field.Name) // by name from the command (EventChecks), not the state
                        ? Expressions.Convert(scope.Field(field.Name), scope.TypeOf(field.Name), field.Type, a.Namespace, index)
                        : CSharpTypes.Default(field.Type, a.Namespace, index);
                w.Append((i == 0 ? "" : ", ") + value);
            }
            w.Line("),");
        }
        w.Line("};");
    }

    internal static EventDefinition? FindEvent(AggregateDefinition a, string name)
    {
        foreach (var e in a.Events)
            if (e.Name == name) return e;
        return null;
    }

    static FieldAssignment? FindAssignment(EmitDefinition emit, string field)
    {
        foreach (var assignment in emit.Assignments)
            if (assignment.Target == field) return assignment;
        return null;
    }

    static void EmitApply(CodeWriter w, AggregateDefinition a, string state, TypeIndex index)
    {
        w.Line();
        w.Line("/// <summary>Hand-written effects of an event beyond what the definition declares.</summary>");
        w.Line($"partial void OnApplied({state} state, object @event, global::Platform.Events.EventEnvelope? envelope);");
        w.Line();
        w.Line($"public override {state} Apply({state} state, object @event) => Apply(state, @event, null);");
        w.Line();
        w.Line($"public override {state} Apply({state} state, global::Platform.Events.EventEnvelope envelope) => Apply(state, envelope.Event, envelope);");
        w.Line();

        var stateFields = new Dictionary<string, FieldDefinition>();
        foreach (var field in a.State) stateFields[field.Name] = field;
        var metadata = ExpressionScope.FromEnvelope("envelope", nullable: true);

        using (w.Block($"{state} Apply({state} state, object @event, global::Platform.Events.EventEnvelope? envelope)"))
        {
            using (w.Block("switch (@event)"))
            {
                foreach (var e in a.Events)
                {
                    w.Line($"case {e.Name} e:");
                    var shape = index.FindMessage(e.Name);
                    var scope = shape is null
                        ? new ExpressionScope(name => "e." + Names.Pascal(name), metadata, ExpressionScope.Types(e.Fields))
                        : new ExpressionScope(Expressions.EventFields("e", shape, index, "envelope?.StreamId", mayBeNull: true), metadata, Expressions.EventTypes(shape, index));
                    foreach (var update in e.Apply)
                    {
                        if (!stateFields.TryGetValue(update.Target, out var target)) continue;
                        var property = "state." + Names.Pascal(update.Target);
                        switch (update.Operation)
                        {
                            case UpdateOperation.Set:
                                w.Line($"    {property} = {Expressions.Of(update.Value, target.Type, scope, a.Namespace, index)};");
                                break;
                            case UpdateOperation.Add or UpdateOperation.Remove:
                                w.Line("    " + ListUpdates.Statement(property, update, target.Type, scope, a.Namespace, index));
                                break;
                            case UpdateOperation.Increment or UpdateOperation.Decrement:
                                w.Line($"    {Expressions.Increment(property, update.Operation, target.Type, Expressions.Of(update.Value, target.Type with { IsOptional = false }, scope, a.Namespace, index))};");
                                break;
                        }
                    }
                    w.Line("    break;");
                }
                w.Line("default:");
                w.Line($"    throw new global::System.ArgumentException(@event.GetType().Name + {CSharpLiteral.String(" is not an event of " + a.Name)}, nameof(@event));");
            }
            w.Line("OnApplied(state, @event, envelope);");
            w.Line("return state;");
        }
        w.Line();
        ListUpdates.EmitHelpers(w);
    }
}
