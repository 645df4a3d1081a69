using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Loading;

public static partial class DefinitionLoader
{
    private static readonly string[] AggregateKeys = { "aggregate", "namespace", "id", "snapshot", "types", "state", "commands", "events" };
    private static readonly string[] ContractsKeys = { "contracts", "namespace", "types", "commands", "events" };
    private static readonly string[] CommandKeys = { "creates", "fields", "when", "require", "emits", "instead", "description" };
    private static readonly string[] EventKeys = { "kind", "type", "version", "compatibility", "fields", "apply", "previous", "description" };
    private static readonly string[] VersionKeys = { "version", "fields", "upcast", "upcaster" };

    private static DefinitionFile? ReadAggregateFile(LoadContext context, YamlMapping root, string ns)
    {
        context.AllowKeys(root, "an aggregate file", AggregateKeys);
        var (nameNode, span) = RootName(context, root, "aggregate");
        var name = nameNode?.Value ?? string.Empty;
        var (types, enums) = ReadTypes(context, root.Find("types"), ns);

        AggregateId id;
        var idMapping = context.Mapping(root.Find("id"), "'id'");
        if (idMapping is null)
        {
            if (root.Find("id") is null) context.Report(DiagnosticCodes.MissingKey, span, $"aggregate '{name}'", "id");
            id = new AggregateId("id", TypeRef.OfPrimitive(PrimitiveType.Guid, false, span), span);
        }
        else
        {
            context.AllowKeys(idMapping, "'id'", "name", "type");
            var idName = context.RequiredString(idMapping, "name", "'id'");
            var typeScalar = context.Scalar(idMapping.Find("type"), "'type' of 'id'");
            var idType = typeScalar is null ? TypeRef.OfPrimitive(PrimitiveType.Guid, false, idMapping.Span) : TypeParser.Parse(context, typeScalar);
            id = new AggregateId(idName, idType ?? TypeRef.OfPrimitive(PrimitiveType.Guid, false, idMapping.Span), idMapping.Find("name")?.Span ?? idMapping.Span);
        }

        int? snapshotEvery = null;
        var snapshotRevision = 1;
        var snapshot = context.Mapping(root.Find("snapshot"), "'snapshot'");
        if (snapshot is not null)
        {
            context.AllowKeys(snapshot, "'snapshot'", "every", "revision");
            if (snapshot.Find("every") is null) context.Report(DiagnosticCodes.MissingKey, snapshot.Span, "'snapshot'", "every");
            snapshotEvery = context.PositiveInt(snapshot.Find("every"), "snapshot interval");
            snapshotRevision = context.PositiveInt(snapshot.Find("revision"), "snapshot revision") ?? 1;
        }

        var state = ReadFields(context, root.Find("state"), name, "'state'");
        var commands = ReadCommands(context, root.Find("commands"), ns, name, true);
        var events = ReadEvents(context, root.Find("events"), ns, name, EventKind.Domain);
        var aggregate = new AggregateDefinition(name, ns, id, snapshotEvery, state, commands, events, span, snapshotRevision);
        return NewFile(context, DefinitionKind.Aggregate, name, ns, span, types, enums) with { Aggregate = aggregate };
    }

    private static DefinitionFile? ReadContractsFile(LoadContext context, YamlMapping root, string ns)
    {
        context.AllowKeys(root, "a contracts file", ContractsKeys);
        var (nameNode, span) = RootName(context, root, "contracts");
        var name = nameNode?.Value ?? string.Empty;
        var (types, enums) = ReadTypes(context, root.Find("types"), ns);
        var commands = ReadCommands(context, root.Find("commands"), ns, null, false);
        var events = ReadEvents(context, root.Find("events"), ns, null, EventKind.Integration);
        var contracts = new ContractsDefinition(name, ns, commands, events, span);
        return NewFile(context, DefinitionKind.Contracts, name, ns, span, types, enums) with { Contracts = contracts };
    }

    private static EquatableArray<CommandDefinition> ReadCommands(LoadContext context, YamlNode? node, string ns, string? aggregate, bool onAggregate)
    {
        var mapping = context.Mapping(node, "'commands'");
        if (mapping is null) return EquatableArray<CommandDefinition>.Empty;
        var result = new List<CommandDefinition>();
        foreach (var entry in mapping.Entries)
        {
            var what = $"command '{entry.Key.Value}'";
            var body = context.Mapping(entry.Value, what);
            if (body is null) continue;
            if (onAggregate) context.AllowKeys(body, what, CommandKeys);
            else context.AllowKeys(body, what + " of a contracts file", "fields", "description");
            result.Add(new CommandDefinition(
                entry.Key.Value,
                ns,
                context.Bool(body, "creates", what, false),
                ReadFields(context, body.Find("fields"), entry.Key.Value, $"'fields' of {what}"),
                ReadConditions(context, body.Find("when"), $"'when' of {what}"),
                ReadConditions(context, body.Find("require"), $"'require' of {what}"),
                ReadEmits(context, body.Find("emits"), what),
                aggregate,
                entry.Key.Span,
                context.OptionalString(body, "description", what),
                onAggregate ? ReadInstead(context, body.Find("instead"), what) : EquatableArray<EmitBranch>.Empty));
        }
        return new EquatableArray<CommandDefinition>(result);
    }

    /// <summary><c>instead: [{ when: { ... }, where: { ... }, emits: ... }]</c>, in order.</summary>
    private static EquatableArray<EmitBranch> ReadInstead(LoadContext context, YamlNode? node, string what)
    {
        if (node is null || node is YamlScalar { IsNull: true }) return EquatableArray<EmitBranch>.Empty;
        if (node is not YamlSequence sequence)
        {
            context.Report(DiagnosticCodes.WrongNodeKind, node.Span, $"'instead' of {what}", "a list of { when, where, emits }", node.Describe());
            return EquatableArray<EmitBranch>.Empty;
        }
        var result = new List<EmitBranch>();
        foreach (var item in sequence.Items)
        {
            var branch = $"a branch of 'instead' of {what}";
            var body = context.Mapping(item, branch);
            if (body is null) continue;
            context.AllowKeys(body, branch, "when", "where", "emits");
            if (body.Find("emits") is null) context.Report(DiagnosticCodes.MissingKey, body.Span, branch, "emits");
            // Without a condition the branch would always win and the command's own emits never run.
            if (body.Find("when") is null && body.Find("where") is null) context.Report(DiagnosticCodes.MissingKey, body.Span, branch, "when' or 'where");
            result.Add(new EmitBranch(
                ReadConditions(context, body.Find("when"), $"'when' of {branch}"),
                ReadConditions(context, body.Find("where"), $"'where' of {branch}"),
                ReadEmits(context, body.Find("emits"), branch),
                body.Span));
        }
        return new EquatableArray<EmitBranch>(result);
    }

    /// <summary><c>emits: A</c>, <c>emits: [A, B]</c> or <c>emits: { A: { field: value } }</c>.</summary>
    private static EquatableArray<EmitDefinition> ReadEmits(LoadContext context, YamlNode? node, string what)
    {
        var result = new List<EmitDefinition>();
        if (node is YamlMapping mapping)
        {
            foreach (var entry in mapping.Entries)
            {
                result.Add(new EmitDefinition(entry.Key.Value, ReadAssignments(context, entry.Value, $"the fields of '{entry.Key.Value}'"), entry.Key.Span));
            }
        }
        else
        {
            foreach (var scalar in context.ScalarList(node, $"'emits' of {what}"))
            {
                result.Add(new EmitDefinition(scalar.Value, EquatableArray<FieldAssignment>.Empty, scalar.Span));
            }
        }
        return new EquatableArray<EmitDefinition>(result);
    }

    private static EquatableArray<EventDefinition> ReadEvents(LoadContext context, YamlNode? node, string ns, string? aggregate, EventKind defaultKind)
    {
        var mapping = context.Mapping(node, "'events'");
        if (mapping is null) return EquatableArray<EventDefinition>.Empty;
        var result = new List<EventDefinition>();
        foreach (var entry in mapping.Entries)
        {
            var name = entry.Key.Value;
            var what = $"event '{name}'";
            var body = context.Mapping(entry.Value, what);
            if (body is null) continue;
            context.AllowKeys(body, what, EventKeys);

            var kind = defaultKind;
            var kindScalar = context.Scalar(body.Find("kind"), $"'kind' of {what}");
            if (kindScalar is not null)
            {
                kind = kindScalar.Value switch
                {
                    "domain" => EventKind.Domain,
                    "integration" => EventKind.Integration,
                    "notification" => EventKind.Notification,
                    _ => ReportInvalid(context, kindScalar, "event kind", "domain, integration or notification", defaultKind),
                };
            }

            var compatibility = kind == EventKind.Domain ? CompatibilityMode.BackwardTransitive : CompatibilityMode.Backward;
            var modeScalar = context.Scalar(body.Find("compatibility"), $"'compatibility' of {what}");
            if (modeScalar is not null)
            {
                compatibility = modeScalar.Value switch
                {
                    "BACKWARD" => CompatibilityMode.Backward,
                    "BACKWARD_TRANSITIVE" => CompatibilityMode.BackwardTransitive,
                    "FORWARD" => CompatibilityMode.Forward,
                    "FULL" => CompatibilityMode.Full,
                    "NONE" => CompatibilityMode.None,
                    _ => ReportInvalid(context, modeScalar, "compatibility mode", "BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FULL or NONE", compatibility),
                };
            }

            var versionNode = body.Find("version");
            var version = versionNode is null ? 1 : context.PositiveInt(versionNode, "event version") ?? 1;
            var typeName = context.OptionalString(body, "type", what) ?? (ns.Length == 0 ? name : ns + "." + name);

            result.Add(new EventDefinition(
                name,
                ns,
                typeName,
                kind,
                version,
                ReadFields(context, body.Find("fields"), name, $"'fields' of {what}"),
                ReadUpdates(context, body.Find("apply"), $"'apply' of {what}"),
                ReadPreviousVersions(context, body.Find("previous"), name),
                compatibility,
                aggregate,
                entry.Key.Span,
                versionNode?.Span ?? entry.Key.Span,
                context.OptionalString(body, "description", what)));
        }
        return new EquatableArray<EventDefinition>(result);
    }

    private static EquatableArray<EventVersionDefinition> ReadPreviousVersions(LoadContext context, YamlNode? node, string eventName)
    {
        if (node is null) return EquatableArray<EventVersionDefinition>.Empty;
        if (node is not YamlSequence sequence)
        {
            context.Report(DiagnosticCodes.WrongNodeKind, node.Span, $"'previous' of event '{eventName}'", "a list of versions", node.Describe());
            return EquatableArray<EventVersionDefinition>.Empty;
        }
        var result = new List<EventVersionDefinition>();
        foreach (var item in sequence.Items)
        {
            var what = $"a previous version of '{eventName}'";
            var body = context.Mapping(item, what);
            if (body is null) continue;
            context.AllowKeys(body, what, VersionKeys);
            var versionNode = body.Find("version");
            if (versionNode is null)
            {
                context.Report(DiagnosticCodes.MissingKey, body.Span, what, "version");
                continue;
            }
            var version = context.PositiveInt(versionNode, "event version");
            if (version is null) continue;
            result.Add(new EventVersionDefinition(
                version.Value,
                ReadFields(context, body.Find("fields"), eventName + "V" + version.Value, $"'fields' of version {version}"),
                ReadUpcast(context, body.Find("upcast"), eventName, version.Value),
                context.OptionalString(body, "upcaster", what),
                versionNode.Span));
        }
        return new EquatableArray<EventVersionDefinition>(result);
    }

    private static readonly string[] UpcastKeys = { "default", "rename", "compute" };

    /// <summary><c>field: { default: X }</c>, <c>{ rename: oldName }</c>, <c>{ compute: expr }</c>, or <c>oldField: remove</c>.</summary>
    private static EquatableArray<UpcastStep> ReadUpcast(LoadContext context, YamlNode? node, string eventName, int version)
    {
        var mapping = context.Mapping(node, $"'upcast' of '{eventName}' v{version}");
        if (mapping is null) return EquatableArray<UpcastStep>.Empty;
        var result = new List<UpcastStep>();
        foreach (var entry in mapping.Entries)
        {
            var field = entry.Key.Value;
            if (entry.Value is YamlScalar scalar)
            {
                if (scalar.Value == "remove" && scalar.IsPlain) result.Add(new UpcastStep(field, UpcastOperation.Remove, null, null, entry.Key.Span));
                else context.Report(DiagnosticCodes.InvalidValue, scalar.Span, scalar.Value, "upcast step", "'remove' or a mapping with default, rename or compute");
                continue;
            }
            var body = context.Mapping(entry.Value, $"the upcast of '{field}'");
            if (body is null) continue;
            context.AllowKeys(body, $"the upcast of '{field}'", UpcastKeys);
            if (body.Find("rename") is { } rename)
            {
                var from = context.Scalar(rename, "'rename'");
                if (from is not null) result.Add(new UpcastStep(field, UpcastOperation.Rename, null, from.Value, entry.Key.Span));
            }
            else if (body.Find("default") is { } defaultNode)
            {
                var value = ExpressionParser.Parse(context, defaultNode, "'default'");
                if (value is not null) result.Add(new UpcastStep(field, UpcastOperation.Default, value, null, entry.Key.Span));
            }
            else if (body.Find("compute") is { } compute)
            {
                var value = ExpressionParser.Parse(context, compute, "'compute'");
                if (value is not null) result.Add(new UpcastStep(field, UpcastOperation.Compute, value, null, entry.Key.Span));
            }
            else
            {
                context.Report(DiagnosticCodes.MissingKey, entry.Key.Span, $"the upcast of '{field}'", "default, rename or compute");
            }
        }
        return new EquatableArray<UpcastStep>(result);
    }

    private static T ReportInvalid<T>(LoadContext context, YamlScalar scalar, string what, string allowed, T fallback)
    {
        context.Report(DiagnosticCodes.InvalidValue, scalar.Span, scalar.Value, what, allowed);
        return fallback;
    }
}
