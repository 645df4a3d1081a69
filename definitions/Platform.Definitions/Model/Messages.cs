using System.Collections.Generic;
namespace Platform.Definitions.Model;

public enum EventKind
{
    /// <summary>Stored in an aggregate's stream; the source of truth.</summary>
    Domain,
    /// <summary>Published for other services; a contract between teams.</summary>
    Integration,
    /// <summary>Fire-and-forget information; never stored or replayed.</summary>
    Notification,
}

/// <summary>Confluent Schema Registry's modes, applied to published event versions.</summary>
public enum CompatibilityMode
{
    BackwardTransitive,
    Backward,
    Forward,
    Full,
    None,
}

/// <summary>
/// An event with its current version and every earlier one. <see cref="Description"/> is free
/// text: emit it only through <see cref="CSharpLiteral"/> or as escaped XML documentation. <see cref="TypeName"/> is the stable
/// wire and store name, independent of the C# <see cref="Name"/>.
/// </summary>
public sealed record EventDefinition(
    string Name,
    string Namespace,
    string TypeName,
    EventKind Kind,
    int Version,
    EquatableArray<FieldDefinition> Fields,
    EquatableArray<StateUpdate> Apply,
    EquatableArray<EventVersionDefinition> Previous,
    CompatibilityMode Compatibility,
    string? Aggregate,
    SourceSpan Span,
    SourceSpan VersionSpan,
    string? Description = null);

/// <summary>
/// An earlier version and how it becomes the next one: declarative <see cref="Upcast"/> steps, or
/// <see cref="Upcaster"/>, the name of a partial method the service implements by hand.
/// </summary>
public sealed record EventVersionDefinition(
    int Version,
    EquatableArray<FieldDefinition> Fields,
    EquatableArray<UpcastStep> Upcast,
    string? Upcaster,
    SourceSpan Span);

public enum UpcastOperation
{
    /// <summary>The next version's field gets <see cref="UpcastStep.Value"/> when absent.</summary>
    Default,
    /// <summary>The next version's field takes the value of <see cref="UpcastStep.From"/>.</summary>
    Rename,
    /// <summary>The old field is dropped.</summary>
    Remove,
    /// <summary>The next version's field is computed from <see cref="UpcastStep.Value"/>.</summary>
    Compute,
}

/// <summary>One declarative step of v(n) -&gt; v(n+1); <see cref="Field"/> names the field it produces or removes.</summary>
public sealed record UpcastStep(string Field, UpcastOperation Operation, ValueExpr? Value, string? From, SourceSpan Span);

/// <summary>
/// A command. On an aggregate it has guards and emits events; in a contracts file it is a
/// message another service handles (e.g. <c>ChargePayment</c>). <see cref="Instead"/> are the
/// branches that emit other events than <see cref="Emits"/> (e.g. <c>StockShort</c> instead of
/// <c>StockReserved</c> when the state has too little).
/// </summary>
public sealed record CommandDefinition(
    string Name,
    string Namespace,
    bool Creates,
    EquatableArray<FieldDefinition> Fields,
    EquatableArray<Condition> When,
    EquatableArray<Condition> Require,
    EquatableArray<EmitDefinition> Emits,
    string? Aggregate,
    SourceSpan Span,
    string? Description = null,
    EquatableArray<EmitBranch> Instead = default)
{
    /// <summary>Every event the command can emit: its <see cref="Emits"/>, then each branch's.</summary>
    public IEnumerable<EmitDefinition> AllEmits
    {
        get
        {
            foreach (var emit in Emits) yield return emit;
            foreach (var branch in Instead)
                foreach (var emit in branch.Emits) yield return emit;
        }
    }
}

/// <summary>
/// <c>instead: [{ when: { ... }, where: { ... }, emits: ... }]</c>: the events a command emits
/// instead of its <c>emits:</c> when every condition holds, <see cref="When"/> on the aggregate's
/// state (as the command's own <c>when:</c>) and <see cref="Where"/> on the command's fields. The
/// first branch that holds wins.
/// </summary>
public sealed record EmitBranch(EquatableArray<Condition> When, EquatableArray<Condition> Where, EquatableArray<EmitDefinition> Emits, SourceSpan Span);

/// <summary>An event a command emits; fields not assigned are taken from the command field of the same name.</summary>
public sealed record EmitDefinition(string Event, EquatableArray<FieldAssignment> Assignments, SourceSpan Span);
