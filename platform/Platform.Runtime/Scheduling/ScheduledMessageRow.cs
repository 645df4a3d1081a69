namespace Platform.Runtime.Scheduling;

/// <summary>How a stored message leaves: sent to one queue, or published to its subscribers.</summary>
public enum DeliveryKind
{
    /// <summary>Sent to <see cref="ScheduledMessageRow.Destination"/>.</summary>
    Send,

    /// <summary>Published by message type.</summary>
    Publish,
}

/// <summary>
/// One row of <c>scheduled_messages</c>: a message that a saga or reaction sent, published or
/// scheduled inside its transaction, delivered by the runtime once <see cref="DueAt"/> has passed.
/// </summary>
/// <param name="Id">The message id it is delivered with (the same on every delivery, so consumers' inboxes see a redelivery).</param>
/// <param name="Owner">Who stored it, e.g. <c>saga:OrderFulfilment</c> or <c>reaction:ShipOrderWhenShipmentArranged</c>.</param>
/// <param name="CorrelationId">The saga instance it belongs to, when a saga stored it.</param>
/// <param name="TokenId">The schedule token a timeout is cancelled by; null for outbox messages.</param>
/// <param name="Kind">Send or publish.</param>
/// <param name="Destination">The queue address for a send.</param>
/// <param name="MessageType">The CLR type, assembly-qualified.</param>
/// <param name="Payload">The message as JSON.</param>
/// <param name="Headers">The headers to deliver it with, as JSON.</param>
/// <param name="DueAt">When it may be delivered.</param>
/// <param name="CreatedAt">When it was stored.</param>
/// <param name="Attempts">Failed delivery attempts so far.</param>
/// <param name="LastError">The last delivery error.</param>
/// <param name="KeyVersion">
/// For a message scheduled by key (<see cref="Platform.Messaging.IKeyedScheduler"/>), the version in its
/// stream of the event that scheduled it: an event cancels only what events before it scheduled.
/// </param>
public sealed record ScheduledMessageRow(Guid Id, string Owner, string? CorrelationId, Guid? TokenId, DeliveryKind Kind, string? Destination,
    string MessageType, string Payload, string Headers, DateTimeOffset DueAt, DateTimeOffset CreatedAt, int Attempts, string? LastError,
    long? KeyVersion = null);
