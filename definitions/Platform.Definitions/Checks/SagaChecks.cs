using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>
/// Messages a saga uses exist and correlate; every step is compensated or says why not; and the
/// state graph built from steps and handlers has no dead states and always reaches an end.
/// </summary>
internal static class SagaChecks
{
    public static void Run(CheckContext context)
    {
        foreach (var file in context.Set.Files)
        {
            if (file.Saga is { } saga) Check(context, saga);
        }
    }

    private static void Check(CheckContext context, SagaDefinition saga)
    {
        if (saga.Steps.IsEmpty) context.Report(DiagnosticCodes.SagaNoSteps, saga.Span, saga.Name);

        // Every start event (one, or several of which the first to arrive starts the saga).
        var starts = new List<(NameRef Ref, EventDefinition Event)>();
        foreach (var reference in saga.StartEvents)
            if (!starts.Exists(s => s.Ref.Name == reference.Name) && context.Event(reference, "Event") is { } definition) starts.Add((reference, definition));
        StartsOnce(context, saga);
        // The start event's own fields, as a reaction's where: reads its event's: each start event's.
        foreach (var (_, start) in starts)
            EventChecks.Where(context, saga.Where, context.Set.FieldsOf(start), $"event '{start.Name}'", value => NoMetadata(context, saga, value));
        var declared = new List<FieldDefinition>(saga.Data);
        foreach (var (reference, start) in starts)
        {
            var correlation = Correlates(context, saga, start, reference.Span);
            if (correlation is not null && Typing.Find(declared, saga.CorrelateBy) is null) declared.Insert(0, correlation);
        }
        var data = new FieldScope(declared);

        Deadline(context, saga, saga.Timeout, "its timeout", data, starts, 0);
        var kept = new HashSet<string>();
        // What a step's 'when:' can read: the data every start event fills, then what each step keeps.
        var filled = new HashSet<string> { saga.CorrelateBy };
        HashSet<string>? fromEveryStart = null;
        foreach (var (_, start) in starts)
        {
            var names = new HashSet<string>();
            foreach (var field in context.Set.FieldsOf(start)) names.Add(field.Name);
            if (fromEveryStart is null) fromEveryStart = names;
            else fromEveryStart.IntersectWith(names);
        }
        if (fromEveryStart is not null) filled.UnionWith(fromEveryStart);
        for (var i = 0; i < saga.Steps.Count; i++)
        {
            var step = saga.Steps[i];
            var label = $"Step '{step.Name}'";
            // A step's 'when:' reads the saga's data (the start event's, and what earlier steps kept).
            EventChecks.Where(context, step.When, data, $"the data of saga '{saga.Name}'", value => NoMetadata(context, saga, value));
            foreach (var condition in step.When)
            {
                Unkept(context, saga, i, condition.Subject, condition.FieldSpan, filled);
                foreach (var operand in condition.Operands)
                    if (operand.Kind == ValueKind.Field) Unkept(context, saga, i, operand.Path[0], operand.Span, filled);
            }
            foreach (var keep in step.Keep) filled.Add(keep.Target);
            Send(context, saga, step.Send, step.With, data, label);
            var successes = Replies(context, saga, step.OnSuccess).ConvertAll(success => (Event: success, Fields: context.Set.FieldsOf(success)));
            Replies(context, saga, step.OnFailure);
            Ambiguous(context, step.OnSuccess, step.OnFailure, $"step '{step.Name}'");
            Keep(context, saga, step.Keep, successes, data, kept);

            if (step.Compensation is { } compensation)
            {
                if (step.CompensationNone) context.Report(DiagnosticCodes.SagaCompensationAndNone, step.Span, step.Name);
                Send(context, saga, compensation.Command, compensation.With, data, $"The compensation of step '{step.Name}'");
                Replies(context, saga, compensation.OnSuccess);
                Replies(context, saga, compensation.OnFailure);
                Ambiguous(context, compensation.OnSuccess, compensation.OnFailure, $"the compensation of step '{step.Name}'");
                if (compensation.Timeout is { } compensationTimeout && !compensation.Waits)
                    context.Report(DiagnosticCodes.SagaTimeoutNeverCancelled, compensationTimeout.Span, $"the compensation of step '{step.Name}'", saga.Name, "no reply event ends the compensation");
                else if (compensation.Timeout is null && compensation.Waits)
                    context.Report(DiagnosticCodes.SagaCompensationWaitsForever, compensation.Span, step.Name, saga.Name, SagaStates.Compensating(step));
            }
            else if (!step.CompensationNone)
            {
                context.Report(DiagnosticCodes.SagaStepWithoutCompensation, step.Span, step.Name, saga.Name);
            }

            Deadline(context, saga, step.Timeout, $"step '{step.Name}'", data, starts, i);
            if (step.Timeout is { } timeout && step.OnSuccess.IsEmpty && step.OnFailure.IsEmpty)
            {
                context.Report(DiagnosticCodes.SagaTimeoutNeverCancelled, timeout.Span, $"step '{step.Name}'", saga.Name, "no reply event ends the step");
            }
            else if (step.Timeout is null && saga.Timeout is null && !(step.OnSuccess.IsEmpty && step.OnFailure.IsEmpty))
            {
                // The seed's checklist: saga timeouts, so that no instance waits forever.
                context.Report(DiagnosticCodes.SagaStepWaitsForever, step.Span, step.Name, saga.Name);
            }
        }

        // A handler's keep: from its event, as a step's from its reply.
        foreach (var handler in saga.Handlers)
        {
            if (handler.Keep.IsEmpty) continue;
            var events = context.Set.FindEvent(handler.Event.Name) is { } handled ? [(handled, context.Set.FieldsOf(handled))] : new List<(EventDefinition, IReadOnlyList<FieldDefinition>)>();
            Keep(context, saga, handler.Keep, events, data, kept);
        }

        foreach (var field in saga.Data)
        {
            var lacking = new List<EventDefinition>();
            foreach (var (_, start) in starts)
            {
                // Filled from the start event's field of the same name, which must fit.
                if (Typing.Find(context.Set.FieldsOf(start), field.Name) is not { } source)
                {
                    lacking.Add(start);
                    continue;
                }
                if (field.Name != saga.CorrelateBy && !Typing.Assignable(context, source.Type with { IsOptional = false }, field.Type with { IsOptional = false }))
                    context.Report(DiagnosticCodes.LiteralTypeMismatch, field.Span, "$" + field.Name, field.Name, field.Type.Display, $"The start event '{start.Name}' has it as {source.Type.Display}, and the saga's data takes it by name.");
                else if (field.Name != saga.CorrelateBy && Typing.NoDefaultWhenAbsent(context, source.Type, field.Type))
                    context.Report(DiagnosticCodes.LiteralTypeMismatch, field.Span, "$" + field.Name, field.Name, field.Type.Display, $"The start event '{start.Name}' has it as optional ({source.Type.Display}), and an absent {source.Type.Name} has no default. Make '{field.Name}' optional.");
            }
            if (lacking.Count == 0 || field.Name == saga.CorrelateBy || kept.Contains(field.Name)) continue;
            if (lacking.Count == starts.Count)
                context.Report(DiagnosticCodes.SagaDataUnfilled, field.Span, field.Name, saga.Name, string.Join("' or '", lacking.ConvertAll(e => e.Name)));
            else if (!field.Type.IsOptional)
                // Several start events, some of which fill it: an optional field is empty only after the others.
                foreach (var start in lacking)
                    context.Report(DiagnosticCodes.SagaDataEmptyAfterSomeStarts, field.Span, field.Name, saga.Name, start.Name, field.Type.Display);
        }

        var stepStates = new HashSet<string>();
        foreach (var step in saga.Steps) stepStates.Add(step.State.Name);
        foreach (var handler in saga.Handlers)
        {
            var definition = context.Event(handler.Event, "Event");
            if (definition is not null)
            {
                Correlates(context, saga, definition, handler.Event.Span);
                EventChecks.Where(context, handler.Where, context.Set.FieldsOf(definition), $"event '{definition.Name}'", value => NoMetadata(context, saga, value));
            }
            // The generator emits handlers in the steps' waiting states only: one in or into another
            // state of the saga's own would never run, or leave a saga there for good.
            foreach (var state in handler.InStates)
            {
                if (!stepStates.Contains(state.Name))
                    context.Report(DiagnosticCodes.SagaStateNotHandled, state.Span, state.Name, saga.Name, $"the handler of '{handler.Event.Name}' there would never run");
            }
            if (handler is { Outcome: SagaOutcome.TransitionTo, TargetState: { } target } && IdentifierRules.IsValid(target.Name) && !stepStates.Contains(target.Name)
                && target.Name != saga.CompletedState.Name && target.Name != saga.CompensatedState.Name && target.Name != saga.CompensationFailedState.Name)
                context.Report(DiagnosticCodes.SagaStateNotHandled, target.Span, target.Name, saga.Name, "a saga moved there would never leave it");
            // Into the compensation's end states by hand: the steps done stay done, and the failure
            // state would hold a saga no alert was raised for.
            if (handler is { Outcome: SagaOutcome.TransitionTo, TargetState: { } ending } && ending.Name == saga.CompensatedState.Name)
                context.Report(DiagnosticCodes.SagaHandlerSkipsOutcome, ending.Span, ending.Name, saga.Name, "without compensating the steps it completed");
            if (handler is { Outcome: SagaOutcome.TransitionTo, TargetState: { } failed } && failed.Name == saga.CompensationFailedState.Name)
                context.Report(DiagnosticCodes.SagaHandlerSkipsOutcome, failed.Span, failed.Name, saga.Name, "with no compensation tried and no alert raised");
        }

        new SagaGraph(context, saga).Check();
    }

    /// <summary>Each <c>keep:</c> names saga data, and its value fits it from every event it is kept from.</summary>
    private static void Keep(CheckContext context, SagaDefinition saga, EquatableArray<FieldAssignment> keeps,
        List<(EventDefinition Event, IReadOnlyList<FieldDefinition> Fields)> events, FieldScope data, HashSet<string> kept)
    {
        foreach (var keep in keeps)
        {
            var target = Typing.Find(data, keep.Target);
            if (target is null)
            {
                context.Report(DiagnosticCodes.UnknownMessageField, keep.Span, keep.Target, $"the data of saga '{saga.Name}'", CheckContext.Names(Typing.NamesOf(data)));
                continue;
            }
            kept.Add(keep.Target);
            if (!NoMetadata(context, saga, keep.Value)) continue;
            foreach (var (definition, fields) in events)
                Typing.CheckValue(context, keep.Value, fields, $"event '{definition.Name}'", target);
        }
    }

    /// <summary>
    /// A deadline (<c>timeout: $paymentDueAt</c>) names a required timestamp of the saga's data
    /// (PLT0623), which holds a value when the timeout is scheduled (PLT0624): every start event
    /// carries it as a required field, or one of the steps before <paramref name="steps"/> keeps it.
    /// </summary>
    private static void Deadline(CheckContext context, SagaDefinition saga, Duration? timeout, string of, FieldScope data,
        List<(NameRef Ref, EventDefinition Event)> starts, int steps)
    {
        if (timeout?.Deadline is not { } name) return;
        if (Typing.NotADeadline(data, name, "its data", "a saga without it would have no deadline") is { } wrong)
        {
            context.Report(DiagnosticCodes.SagaDeadlineNotTimestamp, timeout.Span, timeout.Text, of, saga.Name, wrong);
            return;
        }
        for (var i = 0; i < steps; i++)
            foreach (var keep in saga.Steps[i].Keep)
                if (keep.Target == name) return;
        foreach (var (_, start) in starts)
        {
            var source = Typing.Find(context.Set.FieldsOf(start), name);
            var gap = source is null ? $"the start event '{start.Name}' does not carry it"
                : source.Type.IsOptional ? $"the start event '{start.Name}' may leave it out ({source.Type.Display})"
                : null;
            if (gap is null) continue;
            context.Report(DiagnosticCodes.SagaDeadlineUnfilled, timeout.Span, timeout.Text, of, saga.Name, gap,
                steps == 0 ? "every start event, as a required field" : "every start event, as a required field, or keep it in an earlier step");
            return;
        }
    }

    /// <summary>PLT0619 when step <paramref name="at"/>'s condition reads data that only it or a later step keeps.</summary>
    private static void Unkept(CheckContext context, SagaDefinition saga, int at, string name, SourceSpan span, HashSet<string> filled)
    {
        if (filled.Contains(name)) return;
        for (var j = at; j < saga.Steps.Count; j++)
        {
            foreach (var keep in saga.Steps[j].Keep)
            {
                if (keep.Target != name) continue;
                context.Report(DiagnosticCodes.SagaConditionReadsUnkeptData, span, saga.Steps[at].Name, saga.Name, name, saga.Steps[j].Name);
                return;
            }
        }
    }

    /// <summary>
    /// False, with PLT0617, for <c>$meta.*</c>: a saga's messages come from the bus, and its
    /// generated code has no envelope to read them from (the C# did not compile).
    /// </summary>
    private static bool NoMetadata(CheckContext context, SagaDefinition saga, ValueExpr value)
    {
        if (value.Kind != ValueKind.Metadata) return true;
        context.Report(DiagnosticCodes.SagaMetadataUnavailable, value.Span, value.Text, saga.Name, "event envelope");
        return false;
    }

    private static void Ambiguous(CheckContext context, EquatableArray<NameRef> successes, EquatableArray<NameRef> failures, string where)
    {
        var success = new HashSet<string>();
        foreach (var name in successes) success.Add(name.Name);
        foreach (var failure in failures)
        {
            if (success.Contains(failure.Name)) context.Report(DiagnosticCodes.SagaAmbiguousReply, failure.Span, failure.Name, where);
        }
    }

    /// <summary>
    /// With several start events, the machine ignores each once the saga runs: one that is also a
    /// step's reply or a handled event would be ignored there, and one listed twice is a slip.
    /// </summary>
    private static void StartsOnce(CheckContext context, SagaDefinition saga)
    {
        if (saga.AlsoStartedBy.IsEmpty) return;
        var seen = new HashSet<string>();
        foreach (var start in saga.StartEvents)
        {
            if (!seen.Add(start.Name))
            {
                context.Report(DiagnosticCodes.SagaStartEventReused, start.Span, start.Name, saga.Name, "it is listed twice under 'startedBy'; list it once");
                continue;
            }
            foreach (var step in saga.Steps)
            {
                foreach (var reply in step.OnSuccess)
                    if (reply.Name == start.Name) context.Report(DiagnosticCodes.SagaStartEventReused, reply.Span, start.Name, saga.Name, $"step '{step.Name}' would never see it as a reply; start the saga with it or wait for it there, not both");
                foreach (var reply in step.OnFailure)
                    if (reply.Name == start.Name) context.Report(DiagnosticCodes.SagaStartEventReused, reply.Span, start.Name, saga.Name, $"step '{step.Name}' would never see it as a reply; start the saga with it or wait for it there, not both");
            }
            foreach (var handler in saga.Handlers)
                if (handler.Event.Name == start.Name) context.Report(DiagnosticCodes.SagaStartEventReused, handler.Event.Span, start.Name, saga.Name, "its handler under 'on:' would never see it; start the saga with it or handle it there, not both");
        }
    }

    private static FieldDefinition? Correlates(CheckContext context, SagaDefinition saga, EventDefinition definition, SourceSpan span)
    {
        var field = Typing.Find(context.Set.FieldsOf(definition), saga.CorrelateBy);
        if (field is null)
        {
            context.Report(DiagnosticCodes.SagaMissingCorrelation, span, definition.Name, saga.CorrelateBy, saga.Name);
            return null;
        }
        // The generated machine maps a guid key to the saga's id as it is and any other key through
        // its text: a message whose key is of another type never finds the saga.
        if (KeyOf(context, saga) is { } key && !SameKey(key, field.Type))
            context.Report(DiagnosticCodes.SagaCorrelationTypeMismatch, span, definition.Name, saga.CorrelateBy, field.Type.Display, saga.Name, key.Display);
        return field;
    }

    // The saga's key: its data field, or the start event's field when the data does not declare it.
    private static TypeRef? KeyOf(CheckContext context, SagaDefinition saga) =>
        Typing.Find(saga.Data, saga.CorrelateBy)?.Type
        ?? (context.Set.FindEvent(saga.StartedBy.Name) is { } start ? Typing.Find(context.Set.FieldsOf(start), saga.CorrelateBy)?.Type : null);

    private static bool SameKey(TypeRef key, TypeRef other) =>
        Typing.SameShape(key with { IsOptional = false }, other with { IsOptional = false })
        || key.Kind == TypeKind.Primitive && other.Kind == TypeKind.Primitive
           && key.Primitive is PrimitiveType.Int or PrimitiveType.Long && other.Primitive is PrimitiveType.Int or PrimitiveType.Long;

    private static List<EventDefinition> Replies(CheckContext context, SagaDefinition saga, EquatableArray<NameRef> names)
    {
        var result = new List<EventDefinition>();
        foreach (var name in names)
        {
            var definition = context.Event(name, "Event");
            if (definition is null) continue;
            Correlates(context, saga, definition, name.Span);
            result.Add(definition);
        }
        return result;
    }

    /// <summary>Fields of the sent command come from 'with:' or from saga data of the same name.</summary>
    private static void Send(CheckContext context, SagaDefinition saga, NameRef commandName, EquatableArray<FieldAssignment> with, FieldScope data, string label)
    {
        var command = context.Command(commandName, "Command");
        if (command is null) return;
        var commandFields = context.Set.FieldsOf(command);
        var assigned = new HashSet<string>();
        foreach (var assignment in with)
        {
            var target = Typing.Find(commandFields, assignment.Target);
            if (target is null)
            {
                context.Report(DiagnosticCodes.UnknownMessageField, assignment.Span, assignment.Target, $"command '{command.Name}'", CheckContext.Names(Typing.NamesOf(commandFields)));
                continue;
            }
            assigned.Add(target.Name);
            if (NoMetadata(context, saga, assignment.Value))
                Typing.CheckValue(context, assignment.Value, data, $"the data of saga '{saga.Name}'", target);
        }
        // Unassigned fields come from the saga data of the same name, optional ones too.
        foreach (var field in commandFields)
        {
            if (assigned.Contains(field.Name)) continue;
            var source = Typing.Find(data, field.Name);
            if (source is null)
            {
                if (!field.Type.IsOptional) context.Report(DiagnosticCodes.SagaCommandFieldUnfilled, commandName.Span, label, saga.Name, command.Name, field.Name);
            }
            else if (!Typing.Assignable(context, source.Type with { IsOptional = false }, field.Type with { IsOptional = false }))
            {
                context.Report(DiagnosticCodes.LiteralTypeMismatch, commandName.Span, "$" + field.Name, field.Name, field.Type.Display, $"The saga data has it as {source.Type.Display}; assign it explicitly.");
            }
            else if (Typing.NoDefaultWhenAbsent(context, source.Type, field.Type))
            {
                context.Report(DiagnosticCodes.LiteralTypeMismatch, commandName.Span, "$" + field.Name, field.Name, field.Type.Display, $"The saga data has it as optional ({source.Type.Display}), and an absent {source.Type.Name} has no default. Make the command's '{field.Name}' optional.");
            }
        }
    }
}
