namespace Platform.Definitions.Model;

public enum ValueKind
{
    /// <summary>A constant written in the YAML; <see cref="ValueExpr.Text"/> is the raw text.</summary>
    Literal,
    /// <summary><c>$field</c> or <c>$field.member</c>: a field of the message in scope.</summary>
    Field,
    /// <summary><c>$meta.timestamp</c> and friends: a value of the envelope.</summary>
    Metadata,
    /// <summary><c>count($items)</c>: the number of elements of a list field.</summary>
    Count,
    /// <summary><c>sum($items.price)</c> or <c>sum($items.price * $items.quantity)</c>.</summary>
    Sum,
}

public enum LiteralKind
{
    None,
    String,
    Number,
    Bool,
    Null,
}

/// <summary>Envelope values an expression may read with <c>$meta.NAME</c>.</summary>
public enum MetadataField
{
    None,
    EventId,
    Timestamp,
    AggregateId,
    Version,
    CorrelationId,
    CausationId,
    UserId,
    TraceId,
}

/// <summary>
/// A value written in YAML: a literal or a reference. <see cref="Path"/> holds the field path of
/// a <see cref="ValueKind.Field"/>, the list and member of <see cref="ValueKind.Count"/> and
/// <see cref="ValueKind.Sum"/>; <see cref="Factor"/> the second operand of a product sum.
/// </summary>
public sealed record ValueExpr(
    ValueKind Kind,
    string Text,
    LiteralKind LiteralKind,
    MetadataField Metadata,
    EquatableArray<string> Path,
    EquatableArray<string> Factor,
    SourceSpan Span)
{
    public static ValueExpr Literal(string text, LiteralKind kind, SourceSpan span) =>
        new(ValueKind.Literal, text, kind, MetadataField.None, EquatableArray<string>.Empty, EquatableArray<string>.Empty, span);
}

public enum UpdateOperation
{
    Set,
    /// <summary>Append the value to a list.</summary>
    Add,
    /// <summary>Remove list elements equal to the value, or whose <see cref="StateUpdate.MatchMember"/> equals it.</summary>
    Remove,
    /// <summary>Add the value to a number.</summary>
    Increment,
    /// <summary>Subtract the value from a number: a withdrawal from a balance, a reservation from a stock.</summary>
    Decrement,
}

/// <summary>One effect on state or a read model: <c>status: Placed</c>, <c>items: { add: $item }</c>, <c>count: { increment: 1 }</c>.</summary>
public sealed record StateUpdate(string Target, UpdateOperation Operation, ValueExpr Value, string? MatchMember, SourceSpan Span);

/// <summary>Fills one field of a message being built: <c>amount: $totalAmount</c>.</summary>
public sealed record FieldAssignment(string Target, ValueExpr Value, SourceSpan Span);

public enum ConditionOperator
{
    Equal,
    NotEqual,
    In,
    NotIn,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
    NonEmpty,
}

/// <summary>A guard such as <c>status: [Placed]</c> or <c>totalAmount: { gt: 0 }</c>; <see cref="Subject"/> is a field name.</summary>
/// <param name="Span">Where the comparison is written: the operator in <c>field: { gt: 0 }</c>, else the field.</param>
/// <param name="SubjectSpan">Where the field is named; <see cref="Span"/> when not given.</param>
public sealed record Condition(string Subject, ConditionOperator Operator, EquatableArray<ValueExpr> Operands, SourceSpan Span, SourceSpan? SubjectSpan = null)
{
    /// <summary>Where the field compared is named, for a diagnostic about the field itself.</summary>
    public SourceSpan FieldSpan => SubjectSpan ?? Span;
}

/// <summary>
/// A duration written as <c>30s</c>, <c>15m</c>, <c>2h</c> or <c>1d</c>; or, for a saga's or a
/// step's <c>timeout:</c> and a reaction's <c>at:</c>, a deadline written as <c>$paymentDueAt</c>
/// (or <c>$paymentDueAt - 1h</c>): the instant a field holds, read when the timeout is scheduled
/// (<see cref="Deadline"/> names the field, <see cref="DeadlineOffset"/> moves it, and
/// <see cref="Milliseconds"/> is 0).
/// </summary>
public sealed record Duration(long Milliseconds, string Text, SourceSpan Span)
{
    /// <summary>The field (a timestamp) whose instant ends the wait; null for a fixed duration.</summary>
    public string? Deadline { get; init; }

    /// <summary>Milliseconds after (or, negative, before) <see cref="Deadline"/>'s instant: <c>$startsAt - 1h</c> is -3,600,000.</summary>
    public long DeadlineOffset { get; init; }
}
