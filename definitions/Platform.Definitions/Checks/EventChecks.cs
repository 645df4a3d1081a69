using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>Versions, upcasts, event effects on state, and the commands that emit events.</summary>
internal static class EventChecks
{
    public static void Run(CheckContext context)
    {
        foreach (var definition in context.Set.Events)
        {
            Versions(context, definition);
        }
        foreach (var aggregate in context.Set.Aggregates)
        {
            Aggregate(context, aggregate);
        }
    }

    private static void Versions(CheckContext context, EventDefinition definition)
    {
        var byVersion = new SortedDictionary<int, EventVersionDefinition>();
        foreach (var previous in definition.Previous)
        {
            if (previous.Version >= definition.Version)
            {
                context.Report(DiagnosticCodes.PreviousNotOlder, previous.Span, previous.Version, definition.Name, definition.Version);
                continue;
            }
            if (byVersion.ContainsKey(previous.Version))
            {
                context.Report(DiagnosticCodes.DuplicateVersion, previous.Span, definition.Name, previous.Version);
                continue;
            }
            byVersion[previous.Version] = previous;
        }
        if (byVersion.Count == 0) return;

        var lowest = int.MaxValue;
        foreach (var version in byVersion.Keys) lowest = System.Math.Min(lowest, version);
        for (var version = lowest + 1; version < definition.Version; version++)
        {
            if (!byVersion.ContainsKey(version))
            {
                context.Report(DiagnosticCodes.VersionGap, definition.VersionSpan, definition.Name, version);
                return;
            }
        }

        foreach (var previous in byVersion.Values)
        {
            var next = previous.Version + 1 == definition.Version ? definition.Fields : byVersion[previous.Version + 1].Fields;
            Upcast(context, definition, previous, next, previous.Version + 1);
        }
    }

    /// <summary>Simulates v(n) -&gt; v(n+1): every required field of the next version must get a value of its type.</summary>
    private static void Upcast(CheckContext context, EventDefinition definition, EventVersionDefinition previous, EquatableArray<FieldDefinition> next, int nextVersion)
    {
        if (previous.Upcaster is not null)
        {
            if (!previous.Upcast.IsEmpty) context.Report(DiagnosticCodes.UpcastAndUpcaster, previous.Span, previous.Version, definition.Name);
            return;
        }

        var old = context.FieldMap(previous.Fields);
        var oldScope = new FieldScope(previous.Fields);
        var target = context.FieldMap(next);
        var produced = new Dictionary<string, UpcastStep>();
        var removed = new HashSet<string>();
        foreach (var step in previous.Upcast)
        {
            switch (step.Operation)
            {
                case UpcastOperation.Remove:
                    if (!old.ContainsKey(step.Field))
                    {
                        context.Report(DiagnosticCodes.UpcastUnknownField, step.Span, definition.Name, previous.Version, step.Field, $"version {previous.Version} does not have");
                    }
                    removed.Add(step.Field);
                    continue;
                case UpcastOperation.Rename:
                    if (!old.ContainsKey(step.From!))
                    {
                        context.Report(DiagnosticCodes.UpcastUnknownField, step.Span, definition.Name, previous.Version, step.From!, $"version {previous.Version} does not have");
                    }
                    removed.Add(step.From!);
                    break;
                case UpcastOperation.Compute when Stored(context, step.Value!, "an upcast", "an upcast turns the event's fields into the next version's, without its envelope"):
                    Typing.CheckValue(context, step.Value!, oldScope, $"'{definition.Name}' v{previous.Version}", target.TryGetValue(step.Field, out var computed) ? computed : null);
                    break;
                case UpcastOperation.Default when Stored(context, step.Value!, "an upcast", "an upcast turns the event's fields into the next version's, without its envelope"):
                    if (target.TryGetValue(step.Field, out var defaulted)) Typing.CheckValue(context, step.Value!, oldScope, $"'{definition.Name}' v{previous.Version}", defaulted);
                    break;
            }
            if (!target.ContainsKey(step.Field))
            {
                context.Report(DiagnosticCodes.UpcastUnknownField, step.Span, definition.Name, previous.Version, step.Field, $"version {nextVersion} does not have");
                continue;
            }
            produced[step.Field] = step;
        }

        foreach (var field in next)
        {
            if (produced.TryGetValue(field.Name, out var step))
            {
                if (step.Operation == UpcastOperation.Rename && old.TryGetValue(step.From!, out var source) && !Typing.Assignable(context, source.Type with { IsOptional = false }, field.Type with { IsOptional = false }))
                {
                    context.Report(DiagnosticCodes.TypeChangedWithoutConversion, step.Span, field.Name, source.Type.Display, previous.Version, field.Type.Display, nextVersion);
                }
                // A default fills a field the earlier version lacks or left empty; one it has keeps its value, which must fit.
                if (step.Operation == UpcastOperation.Default && !removed.Contains(field.Name) && old.TryGetValue(field.Name, out var kept)
                    && !Typing.Assignable(context, kept.Type with { IsOptional = false }, field.Type with { IsOptional = false }))
                {
                    context.Report(DiagnosticCodes.TypeChangedWithoutConversion, step.Span, field.Name, kept.Type.Display, previous.Version, field.Type.Display, nextVersion);
                }
                continue;
            }
            if (old.TryGetValue(field.Name, out var before) && !removed.Contains(field.Name))
            {
                if (!Typing.Assignable(context, before.Type with { IsOptional = false }, field.Type with { IsOptional = false }))
                {
                    context.Report(DiagnosticCodes.TypeChangedWithoutConversion, field.Span, field.Name, before.Type.Display, previous.Version, field.Type.Display, nextVersion);
                }
                else if (before.Type.IsOptional && !field.Type.IsOptional)
                {
                    context.Report(DiagnosticCodes.NoUpcastPath, previous.Span, previous.Version, definition.Name, nextVersion,
                        $"'{field.Name}' is optional in version {previous.Version} but required in version {nextVersion}, and has no default");
                }
                continue;
            }
            if (!field.Type.IsOptional)
            {
                context.Report(DiagnosticCodes.NoUpcastPath, previous.Span, previous.Version, definition.Name, nextVersion,
                    $"the required field '{field.Name}' has no value (add '{field.Name}: {{ default: ... }}')");
            }
        }
    }

    // A command's conditions, compared with its values: on the state (when:, a branch's when:) or on
    // its own fields (require:, a branch's where:).
    private static void CommandConditions(CheckContext context, IReadOnlyList<FieldDefinition> subjects, string subjectsName, CommandDefinition command,
        IReadOnlyList<FieldDefinition> commandFields, EquatableArray<Condition> conditions, bool handled = true)
    {
        foreach (var condition in conditions)
        {
            var field = Typing.Find(subjects, condition.Subject);
            if (field is null)
            {
                context.Report(DiagnosticCodes.UnknownMessageField, condition.FieldSpan, condition.Subject, subjectsName, CheckContext.Names(Typing.NamesOf(subjects)));
                continue;
            }
            var stored = true;
            foreach (var operand in condition.Operands)
                stored &= handled
                    ? Sent(context, operand, $"a condition of command '{command.Name}'")
                    : Stored(context, operand, $"'require' of command '{command.Name}'", "'require' validates the command's fields alone, before it is handled with its metadata (compare the state with the user under 'when:', or fill an event's field from it under 'emits:')");
            if (stored) Conditions(context, condition, field, commandFields, $"command '{command.Name}'");
        }
    }

    /// <summary>
    /// False, with PLT0415, for <c>$meta.*</c> where no stored event's envelope exists yet (a command's
    /// conditions and emitted fields) or none is passed (an upcast): the generated code read it as empty.
    /// </summary>
    private static bool Stored(CheckContext context, ValueExpr value, string where, string why)
    {
        if (value.Kind != ValueKind.Metadata) return true;
        context.Report(DiagnosticCodes.MetadataBeforeStored, value.Span, value.Text, where, why);
        return false;
    }

    /// <summary>
    /// What a command handled with its metadata can read of it: what the sender gave (the user, the
    /// correlation, the causation: the command's id, the trace), not what exists once its events are
    /// stored (their id, time, stream version), PLT0415.
    /// </summary>
    private static bool Sent(CheckContext context, ValueExpr value, string where) =>
        value is { Kind: ValueKind.Metadata, Metadata: MetadataField.UserId or MetadataField.CorrelationId or MetadataField.CausationId or MetadataField.TraceId }
        || Stored(context, value, where, "it exists only once the command's events are stored (a command reads the user, the correlation and causation ids and the trace)");

    /// <summary>One event a command emits: its own aggregate's, every field filled by a value that fits; the event, or null.</summary>
    private static EventDefinition? Emit(CheckContext context, AggregateDefinition aggregate, CommandDefinition command, IReadOnlyList<FieldDefinition> commandFields, EmitDefinition emit)
    {
        var definition = context.Event(new NameRef(emit.Event, emit.Span), "Event");
        if (definition is null) return null;
        if (definition.Aggregate != aggregate.Name)
        {
            context.Report(DiagnosticCodes.UnknownReference, emit.Span, $"Event of aggregate '{aggregate.Name}'", emit.Event, " Commands emit their own aggregate's events; declare it under this aggregate's 'events:'.");
            return null;
        }
        var eventFields = context.Set.FieldsOf(definition);
        var assigned = new HashSet<string>();
        foreach (var assignment in emit.Assignments)
        {
            var target = Typing.Find(eventFields, assignment.Target);
            if (target is null)
            {
                context.Report(DiagnosticCodes.UnknownMessageField, assignment.Span, assignment.Target, $"event '{definition.Name}'", CheckContext.Names(Typing.NamesOf(eventFields)));
                continue;
            }
            assigned.Add(assignment.Target);
            if (Sent(context, assignment.Value, $"the events command '{command.Name}' emits"))
                Typing.CheckValue(context, assignment.Value, commandFields, $"command '{command.Name}'", target);
        }
        // Unassigned fields come from the command's field of the same name, optional ones too.
        foreach (var field in eventFields)
        {
            if (assigned.Contains(field.Name)) continue;
            var source = Typing.Find(commandFields, field.Name);
            if (source is null)
            {
                if (!field.Type.IsOptional) context.Report(DiagnosticCodes.EmittedFieldUnfilled, emit.Span, command.Name, definition.Name, field.Name);
            }
            else if (!Typing.Assignable(context, source.Type with { IsOptional = false }, field.Type with { IsOptional = false }))
            {
                context.Report(DiagnosticCodes.LiteralTypeMismatch, emit.Span, "$" + field.Name, field.Name, field.Type.Display, $"Command '{command.Name}' has it as {source.Type.Display}; assign it explicitly.");
            }
            else if (source.Type.IsOptional && !field.Type.IsOptional)
            {
                context.Report(DiagnosticCodes.LiteralTypeMismatch, emit.Span, "$" + field.Name, field.Name, field.Type.Display, $"Command '{command.Name}' has it as optional; make the command field required or the event field optional.");
            }
        }
        return definition;
    }

    private static void Aggregate(CheckContext context, AggregateDefinition aggregate)
    {
        var state = new FieldScope(aggregate.State);
        var creates = false;
        var emitted = new HashSet<string>();

        foreach (var command in aggregate.Commands)
        {
            creates |= command.Creates;
            var commandFields = context.Set.FieldsOf(command);
            var stateName = $"the state of '{aggregate.Name}'";
            var commandName = $"command '{command.Name}'";
            CommandConditions(context, state, stateName, command, commandFields, command.When);
            CommandConditions(context, commandFields, commandName, command, commandFields, command.Require, handled: false);
            foreach (var branch in command.Instead)
            {
                CommandConditions(context, state, stateName, command, commandFields, branch.When);
                CommandConditions(context, commandFields, commandName, command, commandFields, branch.Where);
            }
            foreach (var emit in command.AllEmits)
            {
                if (Emit(context, aggregate, command, commandFields, emit) is { } definition) emitted.Add(definition.Name);
            }
        }
        if (!creates && !aggregate.Commands.IsEmpty) context.Report(DiagnosticCodes.NoCreatingCommand, aggregate.Span, aggregate.Name);

        foreach (var definition in aggregate.Events)
        {
            if (!emitted.Contains(definition.Name) && !aggregate.Commands.IsEmpty)
            {
                context.Report(DiagnosticCodes.EventNeverEmitted, definition.Span, aggregate.Name, definition.Name);
            }
            if (definition.Kind != EventKind.Domain && !definition.Apply.IsEmpty)
            {
                context.Report(DiagnosticCodes.ApplyOnNonDomainEvent, definition.Span, definition.Name, definition.Kind.ToString().ToLowerInvariant());
                continue;
            }
            var eventFields = context.Set.FieldsOf(definition);
            foreach (var update in definition.Apply)
            {
                var target = Typing.Find(state, update.Target);
                if (target is null)
                {
                    context.Report(DiagnosticCodes.ApplyUnknownStateField, update.Span, update.Target, aggregate.Name);
                    continue;
                }
                Updates.Check(context, update, target, eventFields, $"event '{definition.Name}'", aggregate.Id.Type);
                // Text read as an enum member fails on a name that is not one, and an event that fails
                // to apply stops its aggregate from loading: the event must carry the enum itself.
                if (update is { Operation: UpdateOperation.Set, Value.Kind: ValueKind.Field } && update.Value.Path.Count == 1
                    && Typing.Find(eventFields, update.Value.Path[0]) is { } source && Typing.IsString(source.Type)
                    && Typing.EnumMembersOf(context, target.Type) is not null)
                {
                    context.Report(DiagnosticCodes.LiteralTypeMismatch, update.Value.Span, update.Value.Text, target.Name, target.Type.Display,
                        $"It is text, and an event whose text names no member would stop '{aggregate.Name}' from loading. Give the event's field the enum's type.");
                }
            }
        }
    }

    /// <summary>
    /// A <c>where:</c> on an event (a reaction's, a projection handler's): each condition names a field
    /// of the event and fits its type; <paramref name="operand"/> checks what else the caller requires
    /// of the values compared with.
    /// </summary>
    public static void Where(CheckContext context, IEnumerable<Condition> conditions, IReadOnlyList<FieldDefinition> scope, string scopeName,
        System.Action<ValueExpr>? operand = null)
    {
        foreach (var condition in conditions)
        {
            var subject = Typing.Find(scope, condition.Subject);
            if (subject is null)
            {
                context.Report(DiagnosticCodes.UnknownMessageField, condition.FieldSpan, condition.Subject, scopeName, CheckContext.Names(Typing.NamesOf(scope)));
                continue;
            }
            Conditions(context, condition, subject, scope, scopeName);
            if (operand is not null)
                foreach (var value in condition.Operands) operand(value);
        }
    }

    public static void Conditions(CheckContext context, Condition condition, FieldDefinition subject, IReadOnlyList<FieldDefinition> scope, string scopeName)
    {
        if (condition.Operator == ConditionOperator.NonEmpty)
        {
            if (!Typing.IsString(subject.Type) && !Typing.IsCollection(subject.Type))
            {
                context.Report(DiagnosticCodes.OperationTypeMismatch, condition.Span, "nonEmpty", subject.Name, subject.Type.Display, "nonEmpty applies to strings, lists and maps.");
            }
            return;
        }
        if (condition.Operator is ConditionOperator.GreaterThan or ConditionOperator.GreaterOrEqual or ConditionOperator.LessThan or ConditionOperator.LessOrEqual
            && !Typing.IsNumeric(subject.Type) && subject.Type.Primitive is not (PrimitiveType.Timestamp or PrimitiveType.Date))
        {
            context.Report(DiagnosticCodes.OperationTypeMismatch, condition.Span, condition.Operator.ToString(), subject.Name, subject.Type.Display, "Comparisons apply to numbers, dates and timestamps.");
            return;
        }
        foreach (var operand in condition.Operands)
        {
            Typing.CheckValue(context, operand, scope, scopeName, subject);
        }
    }
}

/// <summary>Checks of one <see cref="StateUpdate"/>, shared by aggregate apply and projection handlers.</summary>
internal static class Updates
{
    public static void Check(CheckContext context, StateUpdate update, FieldDefinition target, IReadOnlyList<FieldDefinition> scope, string scopeName,
        TypeRef? aggregateId = null)
    {
        switch (update.Operation)
        {
            case UpdateOperation.Set:
                Typing.CheckValue(context, update.Value, scope, scopeName, target, aggregateId);
                break;
            case UpdateOperation.Increment or UpdateOperation.Decrement:
                if (!Typing.IsNumeric(target.Type))
                {
                    var name = update.Operation.ToString().ToLowerInvariant();
                    context.Report(DiagnosticCodes.OperationTypeMismatch, update.Span, name, target.Name, target.Type.Display, "increment and decrement apply to numbers.");
                    return;
                }
                Typing.CheckValue(context, update.Value, scope, scopeName, target, aggregateId);
                break;
            case UpdateOperation.Add:
            case UpdateOperation.Remove:
                if (target.Type.Kind != TypeKind.List)
                {
                    context.Report(DiagnosticCodes.OperationTypeMismatch, update.Span, update.Operation.ToString().ToLowerInvariant(), target.Name, target.Type.Display, "add and remove apply to lists.");
                    return;
                }
                var element = target.Type.Element!;
                if (update.MatchMember is not null)
                {
                    var members = Typing.MembersOf(context, element);
                    var member = Typing.Find(members, update.MatchMember);
                    if (member is null)
                    {
                        context.Report(DiagnosticCodes.UnknownMessageField, update.Span, update.MatchMember, $"the elements of '{target.Name}'", members is null ? "none" : CheckContext.Names(Typing.NamesOf(members)));
                        return;
                    }
                    element = member.Type;
                }
                Typing.CheckValue(context, update.Value, scope, scopeName, new FieldDefinition(target.Name, element, null, null, target.Span), update.MatchMember is null ? aggregateId : null);
                break;
        }
    }
}
