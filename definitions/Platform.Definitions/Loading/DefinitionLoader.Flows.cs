using System.Collections.Generic;
using System.IO;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Loading;

public static partial class DefinitionLoader
{
    private static readonly string[] ProjectionKeys = { "projection", "namespace", "aggregate", "key", "revision", "fields", "on" };
    private static readonly string[] HandlerKeys = { "action", "key", "where", "set" };
    private static readonly string[] SagaKeys = { "saga", "namespace", "correlateBy", "startedBy", "where", "data", "timeout", "states", "completed", "compensated", "compensationFailed", "steps", "on", "onUnexpected" };
    private static readonly string[] StepKeys = { "name", "state", "when", "send", "with", "onSuccess", "onFailure", "keep", "timeout", "compensate", "compensation" };
    private static readonly string[] CompensationKeys = { "send", "with", "onSuccess", "onFailure", "timeout" };
    private static readonly string[] SagaHandlerKeys = { "in", "where", "then", "keep" };
    private static readonly string[] ReactionKeys = { "when", "where", "send", "with", "after", "at", "unless" };

    private static DefinitionFile? ReadProjectionFile(LoadContext context, YamlMapping root, string ns)
    {
        context.AllowKeys(root, "a projection file", ProjectionKeys);
        var (nameNode, span) = RootName(context, root, "projection");
        var name = nameNode?.Value ?? string.Empty;
        var aggregate = Name(context, root, "aggregate", $"projection '{name}'", false);

        // key: { name, type }, or a list of them for a composite key.
        var keys = new List<FieldDefinition>();
        var keyNode = root.Find("key");
        if (keyNode is YamlSequence keySequence)
        {
            foreach (var item in keySequence.Items)
                if (context.Mapping(item, "a field of 'key'") is { } keyField) keys.Add(ReadProjectionKey(context, keyField));
            if (keys.Count == 0) context.Report(DiagnosticCodes.MissingKey, keySequence.Span, "'key'", "name");
        }
        else if (context.Mapping(keyNode, "'key'") is { } keyMapping)
        {
            keys.Add(ReadProjectionKey(context, keyMapping));
        }
        else if (keyNode is null)
        {
            context.Report(DiagnosticCodes.MissingKey, span, $"projection '{name}'", "key");
        }
        if (keys.Count == 0) keys.Add(new FieldDefinition("id", TypeRef.OfPrimitive(PrimitiveType.Guid, false, span), null, null, span));
        var key = keys[0];

        var handlers = new List<ProjectionHandler>();
        var on = context.Mapping(root.Find("on"), "'on'");
        if (on is not null)
        {
            foreach (var entry in on.Entries)
            {
                var what = $"the handler of '{entry.Key.Value}'";
                var body = context.Mapping(entry.Value, what);
                if (body is null) continue;
                context.AllowKeys(body, what, HandlerKeys);
                var action = ProjectionAction.Upsert;
                var actionScalar = context.Scalar(body.Find("action"), $"'action' of {what}");
                if (actionScalar is not null)
                {
                    action = actionScalar.Value switch
                    {
                        "insert" => ProjectionAction.Insert,
                        "update" => ProjectionAction.Update,
                        "upsert" => ProjectionAction.Upsert,
                        "delete" => ProjectionAction.Delete,
                        _ => ReportInvalid(context, actionScalar, "projection action", "insert, update, upsert or delete", ProjectionAction.Upsert),
                    };
                }
                // key: $field, or a list of values for a composite key.
                var keyValues = new List<ValueExpr>();
                if (body.Find("key") is YamlSequence handlerKeys)
                    foreach (var item in handlerKeys.Items)
                        if (ExpressionParser.Parse(context, item, $"'key' of {what}") is { } keyValue) keyValues.Add(keyValue);
                var keyExpression = keyValues.Count > 0 ? keyValues[0]
                    : body.Find("key") is YamlSequence ? null
                    : body.Find("key") is { } handlerKey
                    ? ExpressionParser.Parse(context, handlerKey, $"'key' of {what}")
                    : aggregate is not null
                        ? new ValueExpr(ValueKind.Metadata, "$meta.aggregateId", LiteralKind.None, MetadataField.AggregateId, EquatableArray<string>.Empty, EquatableArray<string>.Empty, entry.Key.Span)
                        : null;
                if (keyExpression is null)
                {
                    if (body.Find("key") is null or YamlSequence { Items.Count: 0 }) context.Report(DiagnosticCodes.ProjectionKeyMissing, entry.Key.Span, entry.Key.Value, name);
                    continue;
                }
                handlers.Add(new ProjectionHandler(entry.Key.Value, action, keyExpression, ReadConditions(context, body.Find("where"), $"'where' of {what}"),
                    ReadUpdates(context, body.Find("set"), $"'set' of {what}"), entry.Key.Span,
                    keyValues.Count > 1 ? new EquatableArray<ValueExpr>(keyValues.GetRange(1, keyValues.Count - 1)) : EquatableArray<ValueExpr>.Empty));
            }
        }

        var revision = context.PositiveInt(root.Find("revision"), "projection revision") ?? 1;
        var projection = new ProjectionDefinition(name, ns, key, aggregate, ReadFields(context, root.Find("fields"), name, "'fields'"), new EquatableArray<ProjectionHandler>(handlers), span, revision,
            new EquatableArray<FieldDefinition>(keys.GetRange(1, keys.Count - 1)));
        return NewFile(context, DefinitionKind.Projection, name, ns, span) with { Projection = projection };
    }

    // One field of a projection's key: { name, type }.
    private static FieldDefinition ReadProjectionKey(LoadContext context, YamlMapping keyMapping)
    {
        context.AllowKeys(keyMapping, "'key'", "name", "type");
        var keyName = context.RequiredString(keyMapping, "name", "'key'");
        var typeScalar = context.Scalar(keyMapping.Find("type"), "'type' of 'key'");
        var keyType = typeScalar is null ? null : TypeParser.Parse(context, typeScalar);
        if (typeScalar is null && keyMapping.Find("type") is null) context.Report(DiagnosticCodes.MissingKey, keyMapping.Span, "'key'", "type");
        return new FieldDefinition(keyName, keyType ?? TypeRef.OfPrimitive(PrimitiveType.Guid, false, keyMapping.Span), null, null, keyMapping.Find("name")?.Span ?? keyMapping.Span);
    }

    private static DefinitionFile? ReadSagaFile(LoadContext context, YamlMapping root, string ns)
    {
        context.AllowKeys(root, "a saga file", SagaKeys);
        var (nameNode, span) = RootName(context, root, "saga");
        var name = nameNode?.Value ?? string.Empty;
        var what = $"saga '{name}'";
        var correlateBy = context.RequiredString(root, "correlateBy", what);
        // One start event, or several: whichever arrives first starts the saga.
        var starts = root.Find("startedBy") is { } startsNode and not YamlScalar
            ? Names(context, startsNode, $"'startedBy' of {what}")
            : EquatableArray<NameRef>.Empty;
        if (root.Find("startedBy") is YamlSequence && starts.Count == 0)
            context.Report(DiagnosticCodes.MissingKey, root.FindKey("startedBy")!.Span, $"'startedBy' of {what}", "an event name");
        var startedBy = starts.Count > 0 ? starts[0] : Name(context, root, "startedBy", what, true) ?? new NameRef(string.Empty, span);

        var steps = new List<SagaStep>();
        var stepsNode = root.Find("steps");
        if (stepsNode is YamlSequence sequence)
        {
            foreach (var item in sequence.Items)
            {
                var step = ReadStep(context, item);
                if (step is not null) steps.Add(step);
            }
        }
        else if (stepsNode is not null && !(stepsNode is YamlScalar nullSteps && nullSteps.IsNull))
        {
            context.Report(DiagnosticCodes.WrongNodeKind, stepsNode.Span, "'steps'", "a list of steps", stepsNode.Describe());
        }

        var handlers = new List<SagaEventHandler>();
        var on = context.Mapping(root.Find("on"), "'on'");
        if (on is not null)
        {
            foreach (var entry in on.Entries)
            {
                var handlerWhat = $"the handler of '{entry.Key.Value}'";
                var body = context.Mapping(entry.Value, handlerWhat);
                if (body is null) continue;
                context.AllowKeys(body, handlerWhat, SagaHandlerKeys);
                var then = Name(context, body, "then", handlerWhat, true);
                if (then is null) continue;
                var outcome = then.Name switch
                {
                    "compensate" => SagaOutcome.Compensate,
                    "complete" => SagaOutcome.Complete,
                    "ignore" => SagaOutcome.Ignore,
                    _ => SagaOutcome.TransitionTo,
                };
                handlers.Add(new SagaEventHandler(
                    new NameRef(entry.Key.Value, entry.Key.Span),
                    Names(context, body.Find("in"), $"'in' of {handlerWhat}"),
                    outcome,
                    outcome == SagaOutcome.TransitionTo ? then : null,
                    entry.Key.Span,
                    ReadAssignments(context, body.Find("keep"), $"'keep' of {handlerWhat}"),
                    ReadConditions(context, body.Find("where"), $"'where' of {handlerWhat}")));
            }
        }

        var saga = new SagaDefinition(
            name,
            ns,
            correlateBy,
            startedBy,
            ReadFields(context, root.Find("data"), name + "Data", "'data'"),
            Names(context, root.Find("states"), "'states'"),
            new EquatableArray<SagaStep>(steps),
            new EquatableArray<SagaEventHandler>(handlers),
            root.Find("timeout") is { } timeout ? context.Duration(timeout, "saga timeout", deadline: true) : null,
            Name(context, root, "completed", what, false) ?? new NameRef("Completed", span),
            Name(context, root, "compensated", what, false) ?? new NameRef("Compensated", span),
            Name(context, root, "compensationFailed", what, false) ?? new NameRef("CompensationFailed", span),
            span)
        {
            OnUnexpected = ReadUnexpectedPolicy(context, root),
            Where = ReadConditions(context, root.Find("where"), $"'where' of {what}"),
            AlsoStartedBy = Rest(starts),
        };
        return NewFile(context, DefinitionKind.Saga, name, ns, span) with { Saga = saga };
    }

    private static EquatableArray<NameRef> Rest(EquatableArray<NameRef> names)
    {
        if (names.Count < 2) return EquatableArray<NameRef>.Empty;
        var rest = new NameRef[names.Count - 1];
        for (var i = 1; i < names.Count; i++) rest[i - 1] = names[i];
        return new EquatableArray<NameRef>(rest);
    }

    /// <summary>
    /// When a reaction sends its command: <c>after: 30m</c> (a fixed time after the event), or
    /// <c>at: $dueAt</c> (the instant a timestamp field of the event holds); null for at once.
    /// </summary>
    private static Duration? ReadReactionTime(LoadContext context, YamlMapping body, string reaction)
    {
        var after = body.Find("after");
        var at = body.Find("at");
        if (after is not null && at is not null)
            context.Report(DiagnosticCodes.ReactionAfterAndAt, body.FindKey("at")!.Span, reaction);
        if (after is not null) return context.Duration(after, "reaction delay");
        if (at is null) return null;
        if (context.Scalar(at, "'at'") is not { } scalar) return null;
        if (!scalar.Value.StartsWith("$", System.StringComparison.Ordinal))
        {
            context.Report(DiagnosticCodes.InvalidValue, scalar.Span, scalar.Value, "'at'", "a timestamp field of the event, as '$dueAt' (for a delay, use 'after:')");
            return null;
        }
        return context.Duration(at, "reaction time", deadline: true);
    }

    private static UnexpectedEventPolicy ReadUnexpectedPolicy(LoadContext context, YamlMapping root)
    {
        if (root.Find("onUnexpected") is not { } node) return UnexpectedEventPolicy.Ignore;
        if (node is YamlScalar { Value: "ignore" }) return UnexpectedEventPolicy.Ignore;
        if (node is YamlScalar { Value: "deadLetter" }) return UnexpectedEventPolicy.DeadLetter;
        context.Report(DiagnosticCodes.InvalidValue, node.Span, node is YamlScalar scalar ? scalar.Value : node.Describe(), "onUnexpected", "ignore or deadLetter");
        return UnexpectedEventPolicy.Ignore;
    }

    private static SagaStep? ReadStep(LoadContext context, YamlNode node)
    {
        var body = context.Mapping(node, "a saga step");
        if (body is null) return null;
        var stepName = context.RequiredString(body, "name", "a saga step");
        var what = $"step '{stepName}'";
        context.AllowKeys(body, what, StepKeys);
        var send = Name(context, body, "send", what, true);
        if (send is null) return null;
        var span = body.Find("name")?.Span ?? body.Span;

        SagaCompensation? compensation = null;
        if (body.Find("compensate") is { } compensateNode)
        {
            if (compensateNode is YamlScalar compensateScalar && !compensateScalar.IsNull)
            {
                compensation = new SagaCompensation(new NameRef(compensateScalar.Value, compensateScalar.Span), EquatableArray<FieldAssignment>.Empty, EquatableArray<NameRef>.Empty, EquatableArray<NameRef>.Empty, compensateScalar.Span);
            }
            else if (context.Mapping(compensateNode, $"'compensate' of {what}") is { } compensate)
            {
                context.AllowKeys(compensate, $"'compensate' of {what}", CompensationKeys);
                var command = Name(context, compensate, "send", $"'compensate' of {what}", true);
                if (command is not null)
                {
                    compensation = new SagaCompensation(
                        command,
                        ReadAssignments(context, compensate.Find("with"), $"'with' of the compensation of {what}"),
                        Names(context, compensate.Find("onSuccess"), "'onSuccess'"),
                        Names(context, compensate.Find("onFailure"), "'onFailure'"),
                        command.Span,
                        compensate.Find("timeout") is { } compensationTimeout ? context.Duration(compensationTimeout, "compensation timeout") : null);
                }
            }
        }

        var compensationNone = false;
        if (context.Scalar(body.Find("compensation"), $"'compensation' of {what}") is { } none)
        {
            if (none.Value == "none") compensationNone = true;
            else context.Report(DiagnosticCodes.InvalidValue, none.Span, none.Value, "compensation", "'none' (or declare 'compensate:')");
        }

        var state = Name(context, body, "state", what, false) ?? new NameRef("Awaiting" + LoadContext.Pascal(stepName), span);
        return new SagaStep(
            stepName,
            state,
            send,
            ReadAssignments(context, body.Find("with"), $"'with' of {what}"),
            Names(context, body.Find("onSuccess"), "'onSuccess'"),
            Names(context, body.Find("onFailure"), "'onFailure'"),
            ReadAssignments(context, body.Find("keep"), $"'keep' of {what}"),
            compensation,
            compensationNone,
            body.Find("timeout") is { } timeout ? context.Duration(timeout, "step timeout", deadline: true) : null,
            span,
            ReadConditions(context, body.Find("when"), $"'when' of {what}"));
    }

    private static DefinitionFile? ReadReactionsFile(LoadContext context, YamlMapping root, string ns)
    {
        context.AllowKeys(root, "a reactions file", "reactions", "namespace");
        var keySpan = root.FindKey("reactions")!.Span;
        // The file name is not checked like a declared name, so only a sanitised form of it is kept.
        var name = Checks.IdentifierRules.Pascal(Checks.IdentifierRules.Suggest(Path.GetFileNameWithoutExtension(context.Path)));
        var reactions = new List<ReactionDefinition>();
        var mapping = context.Mapping(root.Find("reactions"), "'reactions'");
        if (mapping is not null)
        {
            foreach (var entry in mapping.Entries)
            {
                var what = $"reaction '{entry.Key.Value}'";
                var body = context.Mapping(entry.Value, what);
                if (body is null) continue;
                context.AllowKeys(body, what, ReactionKeys);
                var when = Name(context, body, "when", what, true);
                var send = Name(context, body, "send", what, true);
                if (when is null || send is null) continue;
                reactions.Add(new ReactionDefinition(
                    entry.Key.Value,
                    ns,
                    when,
                    ReadConditions(context, body.Find("where"), $"'where' of {what}"),
                    send,
                    ReadAssignments(context, body.Find("with"), $"'with' of {what}"),
                    entry.Key.Span,
                    ReadReactionTime(context, body, entry.Key.Value),
                    Names(context, body.Find("unless"), $"'unless' of {what}")));
            }
        }
        return NewFile(context, DefinitionKind.Reactions, name, ns, keySpan) with { Reactions = new EquatableArray<ReactionDefinition>(reactions) };
    }
}
