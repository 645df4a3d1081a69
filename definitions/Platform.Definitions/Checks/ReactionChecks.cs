using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>Reactions reference real messages, fill every required command field, and never feed themselves.</summary>
internal static class ReactionChecks
{
    public static void Run(CheckContext context)
    {
        var reactions = new List<ReactionDefinition>();
        foreach (var file in context.Set.Files) reactions.AddRange(file.Reactions);

        foreach (var reaction in reactions)
        {
            var definition = context.Event(reaction.When, "Event");
            var command = context.Command(reaction.Send, "Command");
            Unless(context, reaction, definition);
            if (definition is null) continue;
            var scope = context.Set.FieldsOf(definition);
            var scopeName = $"event '{definition.Name}'";
            Time(context, reaction, definition, scope);
            EventChecks.Where(context, reaction.Where, scope, scopeName, operand => Readable(context, reaction, definition, operand));
            if (command is null) continue;
            var commandFields = context.Set.FieldsOf(command);
            var assigned = new HashSet<string>();
            foreach (var assignment in reaction.With)
            {
                var target = Typing.Find(commandFields, assignment.Target);
                if (target is null)
                {
                    context.Report(DiagnosticCodes.UnknownMessageField, assignment.Span, assignment.Target, $"command '{command.Name}'", CheckContext.Names(Typing.NamesOf(commandFields)));
                    continue;
                }
                assigned.Add(target.Name);
                if (!Readable(context, reaction, definition, assignment.Value)) continue;
                Typing.CheckValue(context, assignment.Value, scope, scopeName, target, context.AggregateIdOf(definition));
            }
            // Unassigned fields come from the event's field of the same name, optional ones too.
            foreach (var field in commandFields)
            {
                if (assigned.Contains(field.Name)) continue;
                if (Typing.Find(scope, field.Name) is { } source)
                {
                    if (!Typing.Assignable(context, source.Type with { IsOptional = false }, field.Type with { IsOptional = false }))
                        context.Report(DiagnosticCodes.LiteralTypeMismatch, reaction.Span, "$" + field.Name, field.Name, field.Type.Display, $"Event '{definition.Name}' has it as {source.Type.Display}; assign it explicitly.");
                    else if (Typing.NoDefaultWhenAbsent(context, source.Type, field.Type))
                        context.Report(DiagnosticCodes.LiteralTypeMismatch, reaction.Span, "$" + field.Name, field.Name, field.Type.Display, $"Event '{definition.Name}' has it as optional ({source.Type.Display}), and an absent {source.Type.Name} has no default. Make the command's '{field.Name}' optional.");
                    continue;
                }
                if (!field.Type.IsOptional) context.Report(DiagnosticCodes.ReactionFieldUnfilled, reaction.Span, reaction.Name, command.Name, field.Name, definition.Name);
            }
        }

        Cycles(context, reactions);
    }

    /// <summary><c>at: $dueAt</c> names a required timestamp field of the event (PLT0707).</summary>
    private static void Time(CheckContext context, ReactionDefinition reaction, EventDefinition definition, IReadOnlyList<FieldDefinition> fields)
    {
        if (reaction.After?.Deadline is not { } name) return;
        if (Typing.NotADeadline(fields, name, $"'{definition.Name}'", "an event without it would have no time to send at") is { } wrong)
            context.Report(DiagnosticCodes.ReactionTimeNotTimestamp, reaction.After.Span, reaction.After.Text, reaction.Name, wrong, definition.Name);
    }

    /// <summary>
    /// <c>unless:</c> cancels the delayed command by the stream of the event that scheduled it: it
    /// needs <c>after:</c>, and events of the same aggregate as <c>when:</c>'s.
    /// </summary>
    private static void Unless(CheckContext context, ReactionDefinition reaction, EventDefinition? definition)
    {
        if (reaction.Unless.IsEmpty) return;
        var cancelling = new List<(NameRef Name, EventDefinition Event)>();
        foreach (var name in reaction.Unless)
            if (context.Event(name, "Event") is { } found) cancelling.Add((name, found));
        if (definition is null) return;
        if (reaction.After is null)
        {
            context.Report(DiagnosticCodes.ReactionUnlessWithoutDelay, reaction.Unless[0].Span, reaction.Name, definition.Name);
            return;
        }
        if (definition.Aggregate is null)
        {
            context.Report(DiagnosticCodes.ReactionUnlessOtherStream, reaction.Unless[0].Span, reaction.Unless[0].Name, reaction.Name,
                $"'{definition.Name}' is not an aggregate's event, so it has no stream to cancel by", definition.Name);
            return;
        }
        foreach (var (name, e) in cancelling)
        {
            if (e.Aggregate != definition.Aggregate)
                context.Report(DiagnosticCodes.ReactionUnlessOtherStream, name.Span, name.Name, reaction.Name,
                    e.Aggregate is null ? "it is not an aggregate's event" : $"it is an event of '{e.Aggregate}', not of '{definition.Aggregate}'", definition.Name);
            else if (e.Name == definition.Name)
                context.Report(DiagnosticCodes.ReactionUnlessOtherStream, name.Span, name.Name, reaction.Name, "it is the event that schedules the command", definition.Name);
        }
    }

    /// <summary>
    /// False, with PLT0703, for <c>$meta.*</c> the event's bus message does not carry (ReactionEmitter
    /// reads the rest from the relay's headers): the time it was stored and the user are not sent, and
    /// an event no aggregate emits has no stream, while its Platform headers may be copies of another event's.
    /// </summary>
    private static bool Readable(CheckContext context, ReactionDefinition reaction, EventDefinition definition, ValueExpr value)
    {
        if (value.Kind != ValueKind.Metadata) return true;
        var reason = value.Metadata switch
        {
            MetadataField.Timestamp => "the event reaches a reaction as a bus message, which does not carry the time it was stored",
            MetadataField.AggregateId or MetadataField.Version or MetadataField.CausationId when definition.Aggregate is null =>
                $"'{definition.Name}' is not an aggregate's event, so it has no stream, version or causing command",
            _ => null,
        };
        if (reason is null) return true;
        context.Report(DiagnosticCodes.ReactionMetadataUnavailable, value.Span, value.Text, reaction.Name, reason);
        return false;
    }

    /// <summary>Event -&gt; reaction -&gt; command -&gt; emitted events; a path back to the start is a loop with no end.</summary>
    private static void Cycles(CheckContext context, List<ReactionDefinition> reactions)
    {
        var byEvent = new Dictionary<string, List<ReactionDefinition>>();
        foreach (var reaction in reactions)
        {
            if (!byEvent.TryGetValue(reaction.When.Name, out var list)) byEvent[reaction.When.Name] = list = new List<ReactionDefinition>();
            list.Add(reaction);
        }

        var reported = new HashSet<string>();
        foreach (var start in reactions)
        {
            if (reported.Contains(start.Name)) continue;
            // Breadth-first from the start reaction's command, remembering how each reaction was reached.
            var cameFrom = new Dictionary<string, ReactionDefinition?> { [start.Name] = null };
            var queue = new Queue<ReactionDefinition>();
            queue.Enqueue(start);
            ReactionDefinition? closing = null;
            while (queue.Count > 0 && closing is null)
            {
                var current = queue.Dequeue();
                if (!context.Commands.TryGetValue(current.Send.Name, out var command)) continue;
                foreach (var emit in command.AllEmits)
                {
                    if (!byEvent.TryGetValue(emit.Event, out var next)) continue;
                    foreach (var reaction in next)
                    {
                        if (reaction.Name == start.Name)
                        {
                            closing = current;
                            break;
                        }
                        if (cameFrom.ContainsKey(reaction.Name)) continue;
                        cameFrom[reaction.Name] = current;
                        queue.Enqueue(reaction);
                    }
                    if (closing is not null) break;
                }
            }
            if (closing is null) continue;

            var path = new List<string>();
            for (var step = closing; step is not null; step = cameFrom[step.Name])
            {
                path.Insert(0, $"{step.When.Name} -> {step.Name} -> {step.Send.Name}");
                reported.Add(step.Name);
            }
            path.Add(start.When.Name);
            context.Report(DiagnosticCodes.ReactionCycle, start.Span, string.Join(" -> ", path));
        }
    }
}
