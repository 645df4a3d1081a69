using System.Collections.Generic;

namespace Platform.Definitions.Model;

public enum DefinitionKind
{
    Aggregate,
    Contracts,
    Projection,
    Saga,
    Reactions,
}

/// <summary>The identity of an aggregate: <c>id: { name: orderId, type: guid }</c>.</summary>
public sealed record AggregateId(string Name, TypeRef Type, SourceSpan Span);

/// <param name="SnapshotRevision">
/// <c>snapshot: { revision: n }</c>, 1 when not given: part of the snapshot fingerprint, raised by hand
/// after a change the fingerprint cannot see (an <c>OnApplied</c> hook, a hand-written upcaster's body)
/// so that older snapshots are ignored.
/// </param>
public sealed record AggregateDefinition(
    string Name,
    string Namespace,
    AggregateId Id,
    int? SnapshotEvery,
    EquatableArray<FieldDefinition> State,
    EquatableArray<CommandDefinition> Commands,
    EquatableArray<EventDefinition> Events,
    SourceSpan Span,
    int SnapshotRevision = 1);

/// <summary>Messages without an aggregate: another service's commands, integration events, shared types.</summary>
public sealed record ContractsDefinition(
    string Name,
    string Namespace,
    EquatableArray<CommandDefinition> Commands,
    EquatableArray<EventDefinition> Events,
    SourceSpan Span);

public enum ProjectionAction
{
    Insert,
    Update,
    Upsert,
    Delete,
}

/// <summary>
/// How one event changes the read model; <see cref="Key"/> selects the row (with
/// <see cref="ExtraKeys"/>, the values of a composite key's later fields). An event that fails one of
/// <see cref="Where"/> (conditions on its fields) changes nothing.
/// </summary>
public sealed record ProjectionHandler(
    string Event,
    ProjectionAction Action,
    ValueExpr Key,
    EquatableArray<Condition> Where,
    EquatableArray<StateUpdate> Set,
    SourceSpan Span,
    EquatableArray<ValueExpr> ExtraKeys = default)
{
    /// <summary>The key's values, in the order of the projection's <see cref="ProjectionDefinition.Keys"/>.</summary>
    public IReadOnlyList<ValueExpr> Keys => EquatableArray.Prepend(Key, ExtraKeys);
}

/// <summary>
/// A read model. Single-stream when <see cref="Aggregate"/> is set (keyed by the aggregate id);
/// multi-stream otherwise, each handler naming its key field (e.g. <c>$customerId</c>).
/// <see cref="Revision"/> (<c>revision: n</c>, 1 when not given) is part of the definition fingerprint,
/// raised by hand after a change the fingerprint cannot see (an <c>OnApplied</c> hook, a hand-written
/// upcaster's body) so that the runtime rebuilds the table as it does for a changed declaration.
/// A multi-stream projection may be keyed by several fields (<c>key: [{ name: warehouse, type:
/// string }, { name: sku, type: string }]</c>): <see cref="Key"/> is the first, <see cref="ExtraKeys"/>
/// the others.
/// </summary>
public sealed record ProjectionDefinition(
    string Name,
    string Namespace,
    FieldDefinition Key,
    NameRef? Aggregate,
    EquatableArray<FieldDefinition> Fields,
    EquatableArray<ProjectionHandler> Handlers,
    SourceSpan Span,
    int Revision = 1,
    EquatableArray<FieldDefinition> ExtraKeys = default)
{
    /// <summary>Every key field: <see cref="Key"/>, then the <see cref="ExtraKeys"/> of a composite key.</summary>
    public IReadOnlyList<FieldDefinition> Keys => EquatableArray.Prepend(Key, ExtraKeys);
}

/// <summary>
/// The compensating command of a step, and its replies when it has them. With replies the saga
/// waits for one (in <see cref="SagaStates.Compensating"/>), at most <see cref="Timeout"/>, after
/// which the compensation counts as failed; without, the command is sent and the compensation goes
/// on at once.
/// </summary>
public sealed record SagaCompensation(
    NameRef Command,
    EquatableArray<FieldAssignment> With,
    EquatableArray<NameRef> OnSuccess,
    EquatableArray<NameRef> OnFailure,
    SourceSpan Span,
    Duration? Timeout = null)
{
    /// <summary>Whether the saga waits for a reply to the compensating command.</summary>
    public bool Waits => !(OnSuccess.IsEmpty && OnFailure.IsEmpty);
}

/// <summary>
/// One step of an orchestration: in <see cref="State"/> the saga has sent <see cref="Send"/>
/// and waits for a reply. <see cref="Keep"/> copies reply fields into saga data. With
/// <see cref="When"/> (conditions on the saga's data) the step runs only when they hold, and is
/// skipped otherwise: nothing sent, nothing to compensate, the next step starts.
/// </summary>
public sealed record SagaStep(
    string Name,
    NameRef State,
    NameRef Send,
    EquatableArray<FieldAssignment> With,
    EquatableArray<NameRef> OnSuccess,
    EquatableArray<NameRef> OnFailure,
    EquatableArray<FieldAssignment> Keep,
    SagaCompensation? Compensation,
    bool CompensationNone,
    Duration? Timeout,
    SourceSpan Span,
    EquatableArray<Condition> When = default);

public enum SagaOutcome
{
    /// <summary>Go to a named state.</summary>
    TransitionTo,
    /// <summary>Compensate completed steps in reverse order.</summary>
    Compensate,
    /// <summary>Finish successfully.</summary>
    Complete,
    /// <summary>Consume the event and stay.</summary>
    Ignore,
}

/// <summary>
/// An extra event handler: <c>on: { OrderCancelled: { in: [AwaitingPayment], then: compensate } }</c>;
/// <see cref="Keep"/> copies the event's fields into saga data first, as a step's <c>keep:</c> does
/// with its reply (<c>keep: { cancelReason: $reason }</c>); with <see cref="Where"/> (conditions on
/// the event's fields) an event that fails one changes nothing.
/// </summary>
public sealed record SagaEventHandler(
    NameRef Event,
    EquatableArray<NameRef> InStates,
    SagaOutcome Outcome,
    NameRef? TargetState,
    SourceSpan Span,
    EquatableArray<FieldAssignment> Keep = default,
    EquatableArray<Condition> Where = default);

/// <summary>What a saga does with an event that arrives in a state that does not handle it (it is always logged).</summary>
public enum UnexpectedEventPolicy
{
    /// <summary>Log it and go on (the default).</summary>
    Ignore,

    /// <summary>Log it and fail the message, so the runtime retries it and then dead-letters it.</summary>
    DeadLetter,
}

public sealed record SagaDefinition(
    string Name,
    string Namespace,
    string CorrelateBy,
    NameRef StartedBy,
    EquatableArray<FieldDefinition> Data,
    EquatableArray<NameRef> States,
    EquatableArray<SagaStep> Steps,
    EquatableArray<SagaEventHandler> Handlers,
    Duration? Timeout,
    NameRef CompletedState,
    NameRef CompensatedState,
    NameRef CompensationFailedState,
    SourceSpan Span)
{
    /// <summary><c>onUnexpected:</c> what the saga does with an event its current state does not handle.</summary>
    public UnexpectedEventPolicy OnUnexpected { get; init; }

    /// <summary><c>where:</c> conditions on the start event's fields: an event that fails one starts no saga.</summary>
    public EquatableArray<Condition> Where { get; init; }

    /// <summary>
    /// The start events after <see cref="StartedBy"/> (<c>startedBy: [OrderPlaced, OrderImported]</c>):
    /// whichever arrives first starts the saga, and the others are ignored once it runs.
    /// </summary>
    public EquatableArray<NameRef> AlsoStartedBy { get; init; }

    /// <summary>Every start event: <see cref="StartedBy"/>, then <see cref="AlsoStartedBy"/>.</summary>
    public IReadOnlyList<NameRef> StartEvents => EquatableArray.Prepend(StartedBy, AlsoStartedBy);
}

/// <summary>
/// Choreography: when <see cref="When"/> happens (and <see cref="Where"/> holds), send
/// <see cref="Send"/>; with <see cref="After"/>, that long after the reaction handles the event
/// (<c>after: 30m</c>: expire an order left unpaid), or at the instant a timestamp field of the
/// event holds (<c>at: $holdUntil</c>: <see cref="Duration.Deadline"/> names it), through the
/// durable scheduled messages, and not at all when one of <see cref="Unless"/>, events of the same
/// aggregate, is handled first (<c>unless: [OrderPaid]</c>).
/// </summary>
public sealed record ReactionDefinition(
    string Name,
    string Namespace,
    NameRef When,
    EquatableArray<Condition> Where,
    NameRef Send,
    EquatableArray<FieldAssignment> With,
    SourceSpan Span,
    Duration? After = null,
    EquatableArray<NameRef> Unless = default);

/// <summary>
/// One parsed YAML file. Exactly one of <see cref="Aggregate"/>, <see cref="Contracts"/>,
/// <see cref="Projection"/>, <see cref="Saga"/> is set, or <see cref="Reactions"/> is non-empty,
/// according to <see cref="Kind"/>. Value types and enums may appear in aggregate and contracts files.
/// </summary>
public sealed record DefinitionFile(
    string Path,
    DefinitionKind Kind,
    string Name,
    string Namespace,
    EquatableArray<ValueTypeDefinition> Types,
    EquatableArray<EnumTypeDefinition> Enums,
    AggregateDefinition? Aggregate,
    ContractsDefinition? Contracts,
    ProjectionDefinition? Projection,
    SagaDefinition? Saga,
    EquatableArray<ReactionDefinition> Reactions,
    SourceSpan Span)
{
    /// <summary>Where the <c>namespace:</c> value is written.</summary>
    public SourceSpan NamespaceSpan { get; init; }

    public EquatableArray<EventDefinition> Events =>
        Aggregate?.Events ?? Contracts?.Events ?? EquatableArray<EventDefinition>.Empty;

    public EquatableArray<CommandDefinition> Commands =>
        Aggregate?.Commands ?? Contracts?.Commands ?? EquatableArray<CommandDefinition>.Empty;
}
