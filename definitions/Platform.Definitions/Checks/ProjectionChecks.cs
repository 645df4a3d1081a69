using System.Collections.Generic;
using System.Linq;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>Handlers use events that exist, fields those events have, and read-model fields that exist.</summary>
internal static class ProjectionChecks
{
    public static void Run(CheckContext context)
    {
        foreach (var file in context.Set.Files)
        {
            if (file.Projection is { } projection) Check(context, projection);
        }
    }

    private static void Check(CheckContext context, ProjectionDefinition projection)
    {
        AggregateDefinition? aggregate = null;
        if (projection.Aggregate is { } aggregateRef && !context.Aggregates.TryGetValue(aggregateRef.Name, out aggregate))
        {
            context.Report(DiagnosticCodes.UnknownReference, aggregateRef.Span, "Aggregate", aggregateRef.Name, context.Suggest(aggregateRef.Name, context.Aggregates.Keys));
        }

        var fields = new FieldScope(new[] { projection.Key }.Concat(projection.Fields));
        var creates = false;
        foreach (var handler in projection.Handlers)
        {
            creates |= handler.Action is ProjectionAction.Insert or ProjectionAction.Upsert;
            var definition = context.Event(new NameRef(handler.Event, handler.Span), "Event");
            if (definition is null) continue;
            if (aggregate is not null && definition.Aggregate != aggregate.Name)
            {
                context.Report(DiagnosticCodes.ProjectionForeignEvent, handler.Span, handler.Event, aggregate.Name);
                continue;
            }
            var scope = context.Set.FieldsOf(definition);
            var scopeName = $"event '{definition.Name}'";

            var aggregateId = context.AggregateIdOf(definition);
            var byStreamId = handler.Key.Kind == ValueKind.Metadata && handler.Key.Metadata == MetadataField.AggregateId;
            var keyType = byStreamId ? aggregateId : Typing.CheckValue(context, handler.Key, scope, scopeName, null);
            // The stream id is the aggregate id as text: it keys a string model too (ProjectionEmitter.KeyExpression).
            if (keyType is not null && (byStreamId
                    ? !Typing.StreamIdFits(keyType, projection.Key.Type with { IsOptional = false })
                    : !Typing.Assignable(context, keyType with { IsOptional = false }, projection.Key.Type with { IsOptional = false })))
            {
                context.Report(DiagnosticCodes.ProjectionKeyTypeMismatch, handler.Key.Span, handler.Key.Text, handler.Event, keyType.Display, projection.Key.Name, projection.Key.Type.Display);
            }

            EventChecks.Where(context, handler.Where, scope, scopeName);

            foreach (var update in handler.Set)
            {
                var target = Typing.Find(fields, update.Target);
                if (target is null)
                {
                    context.Report(DiagnosticCodes.ProjectionUnknownField, update.Span, update.Target, projection.Name);
                    continue;
                }
                Updates.Check(context, update, target, scope, scopeName, aggregateId);
            }
        }
        if (!creates && !projection.Handlers.IsEmpty) context.Report(DiagnosticCodes.ProjectionNoInsert, projection.Span, projection.Name);
    }
}
