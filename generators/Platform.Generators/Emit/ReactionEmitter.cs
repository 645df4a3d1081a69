using System.Collections.Generic;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>A reaction (choreography): a MassTransit consumer of the event that sends the declared command.</summary>
internal static class ReactionEmitter
{
    public static void Emit(CodeWriter w, ReactionDefinition r, TypeIndex index)
    {
        var e = index.FindMessage(r.When.Name);
        var command = index.FindMessage(r.Send.Name);
        if (e is null || command is null) return;
        var eventType = Names.Global(e.Namespace, e.Name);
        var commandType = Names.Global(command.Namespace, command.Name);
        var scope = new ExpressionScope(Expressions.EventFields("e", e, index, $"({Header("StreamId")} ?? \"\")"), Metadata, Expressions.EventTypes(e, index));

        // unless: events of the same aggregate that cancel the delayed command, by the stream's key.
        var unless = new List<MessageShape>();
        foreach (var name in r.Unless)
            if (index.FindMessage(name.Name) is { } cancelling && !unless.Contains(cancelling)) unless.Add(cancelling);
        var keyed = r.After is not null && unless.Count > 0;
        var consumers = $"global::MassTransit.IConsumer<{eventType}>";
        if (keyed)
            foreach (var cancelling in unless) consumers += $", global::MassTransit.IConsumer<{Names.Global(cancelling.Namespace, cancelling.Name)}>";

        w.Line($"/// <summary>When <see cref=\"{eventType}\"/> happens, send <see cref=\"{commandType}\"/>.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {r.Name} : {consumers}"))
        {
            w.Line("/// <summary>Hand-written condition on top of the declared ones; set <paramref name=\"skip\"/> to send nothing.</summary>");
            w.Line($"partial void ShouldSkip({eventType} e, ref bool skip);");
            w.Line();
            using (w.Block($"public async global::System.Threading.Tasks.Task Consume(global::MassTransit.ConsumeContext<{eventType}> context)"))
            {
                w.Line("var e = context.Message;");
                foreach (var condition in r.Where)
                {
                    // Literals convert to the event field's type: enum members, decimals, dates.
                    var test = Conditions.Of(condition, scope.Field(condition.Subject), scope.TypeOf(condition.Subject), scope, e.Namespace, index);
                    w.Line($"if (!({test})) return;");
                }
                w.Line("var skip = false;");
                w.Line("ShouldSkip(e, ref skip);");
                w.Line("if (skip) return;");
                w.Append($"var command = new {commandType}(");
                for (var i = 0; i < command.Fields.Count; i++)
                {
                    var field = command.Fields[i];
                    string value;
                    var assigned = Find(r, field.Name);
                    if (assigned is not null)
                        value = Expressions.Of(assigned.Value, field.Ref, scope, command.Namespace, index);
                    else if (scope.TypeOf(field.Name) is not null) // the event's field, or the aggregate id it carries
                        value = Expressions.Convert(scope.Field(field.Name), scope.TypeOf(field.Name), field.Ref, command.Namespace, index);
                    else
                        value = "default!";
                    w.Append((i == 0 ? "" : ", ") + value);
                }
                w.Line(");");
                if (r.After is { } keyedAfter && keyed)
                {
                    // Under the key of this reaction and the aggregate's stream, which its unless: events cancel.
                    // Not at all when an unless: event of the stream is stored after this one (it ran, or
                    // will run, before this schedule could be cancelled by it).
                    w.Line($"if (!global::MassTransit.EndpointConvention.TryGetDestinationAddress<{commandType}>(out var destination))");
                    w.Line($"    throw new global::System.InvalidOperationException({CSharpLiteral.String("No route for " + command.Name + ": " + r.Name + " cannot schedule it.")});");
                    w.Line("var unless = new global::Platform.Messaging.CancelledBy(StreamId(context), Version(context) ?? 0, CancellingTypes);");
                    w.Line($"await Scheduler(context).ScheduleAsync(Key(context), destination, {DueAt(keyedAfter, scope)}, command,");
                    w.Line("    unless, context.CancellationToken);");
                }
                else if (r.After is { } after)
                {
                    // Scheduled in the reaction's transaction (a row of scheduled_messages), delivered
                    // when due by the runtime on any transport, to where the command is routed.
                    w.Line($"if (!global::MassTransit.EndpointConvention.TryGetDestinationAddress<{commandType}>(out var destination))");
                    w.Line($"    throw new global::System.InvalidOperationException({CSharpLiteral.String("No route for " + command.Name + ": " + r.Name + " cannot schedule it.")});");
                    w.Line("await global::MassTransit.ConsumeContextSchedulerExtensions.ScheduleSend(context, destination,");
                    w.Line($"    ({DueAt(after, scope)}).UtcDateTime, command, context.CancellationToken);");
                }
                else
                {
                    w.Line("await global::MassTransit.EndpointConventionExtensions.Send(context, command, context.CancellationToken);");
                }
            }
            if (keyed) EmitCancelling(w, r, unless);
        }
    }

    /// <summary>
    /// When the command is due: <c>after:</c>'s time from now, or the instant the event's field
    /// named by <c>at:</c> holds (one already passed is delivered at once).
    /// </summary>
    static string DueAt(Duration time, ExpressionScope scope) => time.Deadline is { } field
        ? scope.Field(field) + Expressions.DeadlineOffset(time)
        : $"global::System.DateTimeOffset.UtcNow.AddMilliseconds({time.Milliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)})";

    /// <summary>Each <c>unless:</c> event cancels what the reaction scheduled for its stream, in the event's own transaction.</summary>
    static void EmitCancelling(CodeWriter w, ReactionDefinition r, List<MessageShape> unless)
    {
        foreach (var cancelling in unless)
        {
            var type = Names.Global(cancelling.Namespace, cancelling.Name);
            w.Line();
            w.Line($"/// <summary><see cref=\"{type}\"/> cancels the command scheduled for its aggregate by an earlier event, if not yet due.</summary>");
            w.Line($"public global::System.Threading.Tasks.Task Consume(global::MassTransit.ConsumeContext<{type}> context) =>");
            w.Line("    Version(context) is { } version");
            w.Line("        ? Scheduler(context).CancelAsync(Key(context), version, context.CancellationToken)");
            w.Line("        : Scheduler(context).CancelAsync(Key(context), context.CancellationToken);");
        }
        w.Line();
        w.Line("// The platform's reaction endpoint gives each message its transaction's scheduler.");
        w.Line("static global::Platform.Messaging.IKeyedScheduler Scheduler(global::MassTransit.ConsumeContext context) =>");
        w.Line("    context.TryGetPayload<global::Platform.Messaging.IKeyedScheduler>(out var scheduler) ? scheduler");
        w.Line($"        : throw new global::System.InvalidOperationException({CSharpLiteral.String(r.Name + ": 'unless:' needs the platform runtime's reaction endpoint, whose transaction holds the scheduled command.")});");
        w.Line();
        w.Line("// The events that cancel, by their stable type names.");
        var types = new List<string>();
        foreach (var cancelling in unless) types.Add(Names.Global(cancelling.Namespace, cancelling.Name) + ".EventTypeName");
        w.Line($"static readonly string[] CancellingTypes = [{string.Join(", ", types)}];");
        w.Line();
        w.Line("// The reaction's name and the aggregate's stream: the event that schedules and those that cancel agree on it.");
        w.Line($"static global::System.Guid Key(global::MassTransit.ConsumeContext context) => global::Platform.Messaging.IKeyedScheduler.KeyOf({CSharpLiteral.String(r.Name + "/")} + StreamId(context));");
        w.Line();
        w.Line("// The event's version in its stream: a cancel reaches only what events before it scheduled.");
        w.Line("static long? Version(global::MassTransit.ConsumeContext context) =>");
        w.Line($"    long.TryParse({Header("StreamVersion")}, global::System.Globalization.NumberStyles.None, global::System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : null;");
        w.Line();
        w.Line("static string StreamId(global::MassTransit.ConsumeContext context) =>");
        w.Line($"    {Header("StreamId")} ?? throw new global::System.InvalidOperationException({CSharpLiteral.String(r.Name + ": the event has no ")} + global::Platform.Messaging.PlatformHeaders.StreamId + {CSharpLiteral.String(" header to find its aggregate by.")});");
    }

    // A reaction reads the event's metadata from the headers the relay sent it with (ReactionChecks
    // refuses what they do not carry: the time it was stored, the user, and the stream of an event
    // no aggregate emits, whose Platform headers may be copies of another event's).
    static string Metadata(MetadataField field) => field switch
    {
        MetadataField.EventId => "(context.MessageId ?? global::System.Guid.Empty)",
        MetadataField.AggregateId => $"({Header("StreamId")} ?? \"\")",
        MetadataField.Version => $"long.Parse({Header("StreamVersion")} ?? \"0\", global::System.Globalization.NumberStyles.None, global::System.Globalization.CultureInfo.InvariantCulture)",
        MetadataField.CorrelationId => $"({Header("CorrelationId")} ?? context.CorrelationId?.ToString(\"D\"))",
        MetadataField.CausationId => Header("CausationId"),
        MetadataField.UserId => Header("UserId"),
        MetadataField.TraceId => "(context.Headers.Get<string>(\"traceparent\") ?? global::System.Diagnostics.Activity.Current?.Id)",
        _ => "default",
    };

    static string Header(string name) => $"context.Headers.Get<string>(global::Platform.Messaging.PlatformHeaders.{name})";

    static FieldAssignment? Find(ReactionDefinition r, string name)
    {
        foreach (var assignment in r.With)
            if (assignment.Target == name) return assignment;
        return null;
    }

}
