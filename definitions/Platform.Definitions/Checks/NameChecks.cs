using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>
/// Every name that becomes C# is a valid identifier, not a keyword after casing, unique in its
/// scope, and different from its enclosing type. This is what keeps YAML text out of generated
/// code except as checked identifiers.
/// </summary>
internal static class NameChecks
{
    public static void Run(CheckContext context)
    {
        var global = new Dictionary<string, SourceSpan>(System.StringComparer.Ordinal);
        var typeNames = new Dictionary<string, EventDefinition>(System.StringComparer.Ordinal);

        foreach (var file in context.Set.Files)
        {
            Namespace(context, file.Namespace, file.NamespaceSpan);
            if (file.Kind != DefinitionKind.Reactions) Declare(context, global, "Definition", file.Name, file.Span);

            foreach (var type in file.Types)
            {
                Declare(context, global, "Type", type.Name, type.Span);
                Fields(context, type.Fields, type.Name, JsonMembers);
            }
            foreach (var enumType in file.Enums)
            {
                Declare(context, global, "Type", enumType.Name, enumType.Span);
                var members = new Scope(context);
                foreach (var member in enumType.Members) members.Add("Enum member", member.Name, member.Span);
            }

            if (file.Aggregate is { } aggregate)
            {
                Identifier(context, aggregate.Id.Name, aggregate.Id.Span);
                Fields(context, aggregate.State, aggregate.Name + "State", JsonMembers);
                foreach (var field in aggregate.State) InlineEnum(context, global, field);
            }
            foreach (var command in file.Commands)
            {
                Declare(context, global, "Command", command.Name, command.Span);
                Fields(context, command.Fields, command.Name, CommandMembers);
                if (command.Aggregate is not null && context.Aggregates.TryGetValue(command.Aggregate, out var owner))
                {
                    foreach (var field in command.Fields)
                    {
                        if (field.Name == owner.Id.Name)
                        {
                            context.Report(DiagnosticCodes.DuplicateName, field.Span, "Field", field.Name, "the aggregate id (every command of the aggregate carries it)");
                        }
                    }
                }
            }
            foreach (var definition in file.Events)
            {
                Declare(context, global, "Event", definition.Name, definition.Span);
                Fields(context, definition.Fields, definition.Name, JsonMembers);
                EventMembers(context, definition);
                foreach (var field in definition.Fields) InlineEnum(context, global, field);
                foreach (var previous in definition.Previous)
                {
                    Fields(context, previous.Fields, definition.Name + "V" + previous.Version, JsonMembers);
                    // The generator declares a partial method of this name for the hand-written upcast.
                    if (previous.Upcaster is { } upcaster) Identifier(context, upcaster, previous.Span);
                }
                if (!IsTypeName(definition.TypeName)) context.Report(DiagnosticCodes.InvalidTypeName, definition.Span, definition.TypeName);
                if (typeNames.TryGetValue(definition.TypeName, out var other))
                {
                    context.Report(DiagnosticCodes.DuplicateTypeName, definition.Span, definition.TypeName, other.Name);
                }
                else
                {
                    typeNames[definition.TypeName] = definition;
                }
            }

            if (file.Projection is { } projection)
            {
                // The key fields are checked as identifiers with the others (Scope.Add), once.
                var fields = new List<FieldDefinition>(projection.Keys);
                fields.AddRange(projection.Fields);
                Fields(context, fields, projection.Name, RowMembers);
            }
            if (file.Saga is { } saga)
            {
                Fields(context, saga.Data, saga.Name + "State");
                var steps = new Scope(context);
                foreach (var step in saga.Steps) steps.Add("Step", step.Name, step.Span);
                var states = new Scope(context);
                foreach (var state in saga.States) states.Add("State", state.Name, state.Span);
                foreach (var step in saga.Steps) Identifier(context, step.State.Name, step.State.Span);
                foreach (var handler in saga.Handlers)
                {
                    if (handler.TargetState is { } target) Identifier(context, target.Name, target.Span);
                    foreach (var state in handler.InStates) Identifier(context, state.Name, state.Span);
                }
                Identifier(context, saga.CompletedState.Name, saga.CompletedState.Span);
                Identifier(context, saga.CompensatedState.Name, saga.CompensatedState.Span);
                Identifier(context, saga.CompensationFailedState.Name, saga.CompensationFailedState.Span);
                SagaMembers(context, saga);
            }
            foreach (var reaction in file.Reactions) Declare(context, global, "Reaction", reaction.Name, reaction.Span);
        }

        // Types the generator adds beside the declared ones, in the same namespace tree.
        foreach (var file in context.Set.Files)
        {
            foreach (var (name, owner, what) in GeneratedTypes(file))
                if (global.TryGetValue(name, out var declared))
                    context.Report(DiagnosticCodes.ReservedName, declared, name, $"{owner} generates a type of that name: {what}");
        }
    }

    private static IEnumerable<(string Name, string Owner, string What)> GeneratedTypes(DefinitionFile file)
    {
        if (file.Aggregate is { } aggregate)
        {
            yield return (aggregate.Name + "State", $"aggregate '{aggregate.Name}'", "its state");
            yield return (aggregate.Name + "StateSnapshot", $"aggregate '{aggregate.Name}'", "its snapshot descriptor");
        }
        foreach (var e in file.Events)
            yield return (e.Name + "EventType", $"event '{e.Name}'", "its descriptor");
        foreach (var enumType in file.Enums)
            yield return (enumType.Name + "Json", $"enum '{enumType.Name}'", "its JSON names");
        if (file.Projection is { } projection)
        {
            yield return (projection.Name + "Configuration", $"projection '{projection.Name}'", "its table mapping");
            yield return (projection.Name + "Projection", $"projection '{projection.Name}'", "its handler");
        }
        if (file.Saga is { } saga)
            foreach (var (name, what) in SagaTypes(saga))
                yield return (name, $"saga '{saga.Name}'", what);
    }

    private static IEnumerable<(string Name, string What)> SagaTypes(SagaDefinition saga)
    {
        yield return (saga.Name + "State", "its persisted state");
        yield return (saga.Name + "StateMachine", "its state machine");
        yield return (saga.Name + "CompensationFailed", "the alert it publishes when a compensation fails");
        if (saga.Timeout is not null) yield return (saga.Name + "Timeout", "its timeout message");
        foreach (var step in saga.Steps)
        {
            var pascal = IdentifierRules.Pascal(step.Name);
            if (step.Timeout is not null) yield return (saga.Name + pascal + "Timeout", $"the timeout message of step '{step.Name}'");
            if (step.Compensation is { Waits: true, Timeout: not null })
                yield return (saga.Name + pascal + "CompensationTimeout", $"the timeout message of the compensation of step '{step.Name}'");
        }
    }

    /// <summary>
    /// The generated saga's members: its state class holds the data fields beside what the generator
    /// adds, and its state machine has a property per state, event and timeout beside the generated
    /// methods and MassTransit's own <c>Initial</c> and <c>Final</c>. A name used twice there is code
    /// that does not compile (or, for <c>Final</c>, a state MassTransit treats as the end).
    /// </summary>
    private static void SagaMembers(CheckContext context, SagaDefinition saga)
    {
        var stateClass = saga.Name + "State";
        var added = new Dictionary<string, string>(System.StringComparer.Ordinal)
        {
            ["CorrelationId"] = "the saga's id",
            ["CurrentState"] = "the name of the saga's state",
            ["Version"] = "the saga's version",
            ["FailureReason"] = "why the saga stopped going forward",
        };
        if (saga.Timeout is not null) added["SagaTimeoutTokenId"] = "the token of the saga's timeout";
        var skippable = SagaStates.Skippable(saga);
        for (var i = 0; i < saga.Steps.Count; i++)
        {
            var step = saga.Steps[i];
            var pascal = IdentifierRules.Pascal(step.Name);
            if (skippable[i]) added[pascal + "Skipped"] = $"whether step '{step.Name}' was skipped";
            if (step.Timeout is not null) added[pascal + "TimeoutTokenId"] = $"the token of step '{step.Name}''s timeout";
            if (step.Compensation is not null) added[pascal + "Compensation"] = $"the outcome of compensating step '{step.Name}'";
            if (step.Compensation is { Waits: true, Timeout: not null }) added[pascal + "CompensationTimeoutTokenId"] = $"the token of the timeout of step '{step.Name}''s compensation";
        }
        foreach (var field in saga.Data)
        {
            if (added.TryGetValue(IdentifierRules.Pascal(field.Name), out var what))
                context.Report(DiagnosticCodes.ReservedName, field.Span, field.Name, $"the generated {stateClass} has a member of that name, {what}");
        }

        var machine = saga.Name + "StateMachine";
        var members = new Dictionary<string, string>(System.StringComparer.Ordinal)
        {
            ["Initial"] = "MassTransit's initial state",
            ["Final"] = "MassTransit's final state",
            [machine] = "the state machine's own name",
        };
        foreach (var method in new[] { "OnStarted", "OnCompleted", "OnCompensated", "OnCompensationFailed", "OnUnexpectedEvent", "HandleUnhandledEvent", "KeyToGuid", "FromStream" })
            members[method] = "a generated method";
        void Member(string name, SourceSpan span, string what)
        {
            var pascal = IdentifierRules.Pascal(name);
            if (!members.TryGetValue(pascal, out var existing))
                members[pascal] = what;
            else if (existing != what)
                context.Report(DiagnosticCodes.ReservedName, span, name, $"in the generated {machine} it would name {what} and {existing}");
        }
        foreach (var state in saga.States) Member(state.Name, state.Span, $"the state {state.Name}");
        foreach (var step in saga.Steps)
        {
            Member(step.State.Name, step.State.Span, $"the state {step.State.Name}");
            if (step.Compensation is { Waits: true }) Member(SagaStates.Compensating(step), step.Span, $"the state {SagaStates.Compensating(step)}");
        }
        foreach (var final in new[] { saga.CompletedState, saga.CompensatedState, saga.CompensationFailedState })
            Member(final.Name, final.Span, $"the state {final.Name}");
        foreach (var handler in saga.Handlers)
            if (handler.TargetState is { } target) Member(target.Name, target.Span, $"the state {target.Name}");

        foreach (var message in SagaStates.Events(saga))
            Member(message.Name, message.Span, $"the event {message.Name}");
        foreach (var step in saga.Steps)
        {
            if (step.Timeout is { } timeout) Member(step.Name + "Timeout", timeout.Span, $"the timeout of step '{step.Name}'");
            if (step.Compensation is { Waits: true, Timeout: { } compensationTimeout })
                Member(step.Name + "CompensationTimeout", compensationTimeout.Span, $"the timeout of step '{step.Name}''s compensation");
        }
        if (saga.Timeout is { } sagaTimeout) Member("SagaTimeout", sagaTimeout.Span, "the saga's timeout");
    }

    /// <summary>Members every generated event record has (issue 4), which a field must not shadow.</summary>
    private static readonly string[] EventRecordMembers = { "EventTypeName", "SchemaVersion" };

    private static void EventMembers(CheckContext context, EventDefinition definition)
    {
        var versions = new List<(int Version, EquatableArray<FieldDefinition> Fields)> { (definition.Version, definition.Fields) };
        foreach (var previous in definition.Previous)
        {
            versions.Add((previous.Version, previous.Fields));
            // Earlier versions become records named OrderPlacedV1 beside OrderPlaced.
            var generated = definition.Name + "V" + previous.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (context.Events.ContainsKey(generated) || context.Commands.ContainsKey(generated) || context.ValueTypes.ContainsKey(generated) || context.Enums.ContainsKey(generated))
            {
                context.Report(DiagnosticCodes.ReservedName, previous.Span, generated, $"the record of version {previous.Version} of '{definition.Name}'");
            }
        }
        foreach (var (_, fields) in versions)
        {
            foreach (var field in fields)
            {
                if (IdentifierRules.PascalEquals(field.Name, EventRecordMembers[0]) || IdentifierRules.PascalEquals(field.Name, EventRecordMembers[1]))
                {
                    context.Report(DiagnosticCodes.ReservedName, field.Span, field.Name, "every event record has a member of that name");
                }
            }
        }
    }

    private static void InlineEnum(CheckContext context, Dictionary<string, SourceSpan> global, FieldDefinition field)
    {
        if (field.Type.Kind != TypeKind.Enum) return;
        Declare(context, global, "Type", field.Type.Name, field.Type.Span);
        var members = new Scope(context);
        foreach (var member in field.Type.EnumMembers) members.Add("Enum member", member, field.Type.Span);
    }

    private static void Declare(CheckContext context, Dictionary<string, SourceSpan> global, string kind, string name, SourceSpan span)
    {
        if (!Identifier(context, name, span)) return;
        // Definitions, types, commands, events and reactions become types in one namespace tree.
        if (global.TryGetValue(name, out var existing))
        {
            context.Report(DiagnosticCodes.DuplicateName, span, kind, name, $"{existing.Path}({existing.StartLine},{existing.StartColumn})");
            return;
        }
        global[name] = span;
    }

    // Members the generated records and classes have beside their fields: what every C# record or
    // object has (a field named toString would collide with it), and what the generator adds.
    private static readonly string[] ObjectMembers = { "Equals", "GetHashCode", "ToString", "GetType", "MemberwiseClone", "Finalize", "EqualityContract", "PrintMembers", "Deconstruct" };
    private static readonly string[] JsonMembers = [.. ObjectMembers, "WriteJson", "ReadJson"];
    private static readonly string[] CommandMembers = [.. JsonMembers, "Validate", "EnsureValid"];
    private static readonly string[] RowMembers = [.. ObjectMembers, "LastAppliedPosition"];

    private static void Fields(CheckContext context, IEnumerable<FieldDefinition> fields, string enclosing, string[]? members = null)
    {
        var scope = new Scope(context);
        foreach (var field in fields)
        {
            if (!scope.Add("Field", field.Name, field.Span)) continue;
            if (IdentifierRules.PascalEquals(field.Name, enclosing))
            {
                context.Report(DiagnosticCodes.ReservedName, field.Span, field.Name, $"it is the name of the enclosing type '{enclosing}'");
            }
            else if (System.Array.Find(members ?? ObjectMembers, member => IdentifierRules.PascalEquals(field.Name, member)) is { } member)
            {
                context.Report(DiagnosticCodes.ReservedName, field.Span, field.Name, $"the generated {enclosing} has a member '{member}'");
            }
        }
    }

    public static bool Identifier(CheckContext context, string name, SourceSpan span)
    {
        if (!IdentifierRules.IsValid(name))
        {
            context.Report(DiagnosticCodes.InvalidIdentifier, span, name, IdentifierRules.Suggest(name));
            return false;
        }
        var keyword = IdentifierRules.KeywordAfterCasing(name);
        if (keyword is not null)
        {
            context.Report(DiagnosticCodes.KeywordIdentifier, span, name, keyword);
            return false;
        }
        return true;
    }

    private static void Namespace(CheckContext context, string ns, SourceSpan span)
    {
        if (ns.Length == 0) return;
        foreach (var segment in ns.Split('.'))
        {
            if (!IdentifierRules.IsValid(segment) || IdentifierRules.IsKeyword(segment))
            {
                context.Report(DiagnosticCodes.InvalidNamespace, span, ns);
                return;
            }
        }
    }

    private static bool IsTypeName(string typeName)
    {
        if (typeName.Length == 0 || typeName.Length > 200) return false;
        foreach (var character in typeName)
        {
            var ok = (character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') || (character >= '0' && character <= '9')
                || character == '.' || character == '-' || character == '_';
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>Names in one scope: exact duplicates and names equal after PascalCase.</summary>
    private sealed class Scope
    {
        private readonly CheckContext _context;
        private readonly Dictionary<string, (string Name, SourceSpan Span)> _byPascal = new(System.StringComparer.Ordinal);

        public Scope(CheckContext context) => _context = context;

        public bool Add(string kind, string name, SourceSpan span)
        {
            if (!Identifier(_context, name, span)) return false;
            var pascal = IdentifierRules.Pascal(name);
            if (_byPascal.TryGetValue(pascal, out var existing))
            {
                if (existing.Name == name)
                {
                    _context.Report(DiagnosticCodes.DuplicateName, span, kind, name, $"line {existing.Span.StartLine}");
                }
                else
                {
                    _context.Report(DiagnosticCodes.CasingCollision, span, name, existing.Name, pascal);
                }
                return false;
            }
            _byPascal[pascal] = (name, span);
            return true;
        }
    }
}
