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

        w.Line($"/// <summary>When <see cref=\"{eventType}\"/> happens, send <see cref=\"{commandType}\"/>.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {r.Name} : global::MassTransit.IConsumer<{eventType}>"))
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
                if (r.After is { } after)
                {
                    // Scheduled in the reaction's transaction (a row of scheduled_messages), delivered
                    // when due by the runtime on any transport, to where the command is routed.
                    w.Line($"if (!global::MassTransit.EndpointConvention.TryGetDestinationAddress<{commandType}>(out var destination))");
                    w.Line($"    throw new global::System.InvalidOperationException({CSharpLiteral.String("No route for " + command.Name + ": " + r.Name + " cannot schedule it.")});");
                    w.Line("await global::MassTransit.ConsumeContextSchedulerExtensions.ScheduleSend(context, destination,");
                    w.Line($"    global::System.DateTime.UtcNow.AddMilliseconds({after.Milliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}), command, context.CancellationToken);");
                }
                else
                {
                    w.Line("await global::MassTransit.EndpointConventionExtensions.Send(context, command, context.CancellationToken);");
                }
            }
        }
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
