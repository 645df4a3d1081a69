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
        var scope = new ExpressionScope(name => "e." + Names.Pascal(name), Metadata);

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
                    var test = Conditions.Of(condition, "e." + Names.Pascal(condition.Subject), null, scope, r.Namespace, index);
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
                        value = Expressions.Of(assigned.Value, null, scope, r.Namespace, index);
                    else if (HasField(e, field.Name))
                        value = "e." + Names.Pascal(field.Name);
                    else
                        value = "default!";
                    w.Append((i == 0 ? "" : ", ") + value);
                }
                w.Line(");");
                w.Line("await global::MassTransit.EndpointConventionExtensions.Send(context, command, context.CancellationToken);");
            }
        }
    }

    static string Metadata(MetadataField field) => field switch
    {
        MetadataField.EventId => "(context.MessageId ?? global::System.Guid.Empty)",
        MetadataField.Timestamp => "new global::System.DateTimeOffset(context.SentTime ?? global::System.DateTime.UtcNow, global::System.TimeSpan.Zero)",
        MetadataField.CorrelationId => "context.CorrelationId?.ToString()",
        MetadataField.CausationId => "context.MessageId?.ToString()",
        _ => "default",
    };

    static FieldAssignment? Find(ReactionDefinition r, string name)
    {
        foreach (var assignment in r.With)
            if (assignment.Target == name) return assignment;
        return null;
    }

    static bool HasField(MessageShape message, string name)
    {
        foreach (var field in message.Fields)
            if (field.Name == name) return true;
        return false;
    }
}
