namespace Platform.Events;

/// <summary>
/// What is known about why and on whose behalf an event was written: the correlation and causation
/// chain, the acting user and the W3C trace context. Every member is optional, so an event written
/// outside any request costs nothing extra to store.
/// </summary>
/// <param name="CorrelationId">Identifies the whole conversation (one user request and everything it led to).</param>
/// <param name="CausationId">The id of the command or event that directly caused this event.</param>
/// <param name="UserId">The user on whose behalf the event was written.</param>
/// <param name="TraceParent">The W3C <c>traceparent</c> of the activity that wrote the event.</param>
/// <param name="TraceState">The W3C <c>tracestate</c> of the activity that wrote the event.</param>
public readonly record struct EventMetadata(
    string? CorrelationId = null,
    string? CausationId = null,
    string? UserId = null,
    string? TraceParent = null,
    string? TraceState = null)
{
    /// <summary>No metadata at all.</summary>
    public static EventMetadata None => default;

    /// <summary>True when no member is set; such metadata is not stored.</summary>
    public bool IsEmpty =>
        CorrelationId is null && CausationId is null && UserId is null && TraceParent is null && TraceState is null;
}
