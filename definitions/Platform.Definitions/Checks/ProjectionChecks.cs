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

        var keys = projection.Keys;
        if (aggregate is not null && keys.Count > 1)
            context.Report(DiagnosticCodes.ProjectionCompositeKeySingleStream, projection.ExtraKeys[0].Span, projection.Name, aggregate.Name);
        var fields = new FieldScope(keys.Concat(projection.Fields));
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
            var values = handler.Keys;
            if (values.Count != keys.Count)
            {
                var names = string.Join(", ", keys.Select(k => "$" + k.Name));
                context.Report(DiagnosticCodes.ProjectionKeyCount, handler.Key.Span, handler.Event, values.Count, projection.Name,
                    string.Join(", ", keys.Select(k => k.Name)), names);
            }
            for (var i = 0; i < values.Count && i < keys.Count; i++)
            {
                var value = values[i];
                var keyField = keys[i];
                var byStreamId = value.Kind == ValueKind.Metadata && value.Metadata == MetadataField.AggregateId;
                // A literal has no type of its own: it is checked against the key field (key: [$zone, 2]).
                var keyType = byStreamId ? aggregateId
                    : Typing.CheckValue(context, value, scope, scopeName, value.Kind == ValueKind.Literal ? keyField : null);
                // The stream id is the aggregate id as text: it keys a string model too (ProjectionEmitter.KeyExpression).
                if (keyType is not null && (byStreamId
                        ? !Typing.StreamIdFits(keyType, keyField.Type with { IsOptional = false })
                        : !Typing.Assignable(context, keyType with { IsOptional = false }, keyField.Type with { IsOptional = false })))
                {
                    context.Report(DiagnosticCodes.ProjectionKeyTypeMismatch, value.Span, value.Text, handler.Event, keyType.Display, keyField.Name, keyField.Type.Display);
                }
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
                // EF Core refuses to change a tracked row's key, and an inserted row would no longer be
                // found by the key the handler computed.
                if (keys.Any(k => k.Name == target.Name))
                {
                    context.Report(DiagnosticCodes.ProjectionKeySet, update.Span, handler.Event, target.Name, projection.Name);
                    continue;
                }
                Updates.Check(context, update, target, scope, scopeName, aggregateId);
            }
        }
        if (!creates && !projection.Handlers.IsEmpty) context.Report(DiagnosticCodes.ProjectionNoInsert, projection.Span, projection.Name);
    }
}
