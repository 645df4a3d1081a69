namespace Platform.Messaging;

/// <summary>
/// Durable scheduling by key, in the transaction of the message being consumed: a message scheduled
/// under a key is cancelled by a later message that knows the key, with no token to keep. The
/// platform gives it to generated reactions (a delayed reaction's <c>unless:</c>: the key is the
/// reaction and the aggregate's stream) and to message consumers a service adds, as a payload of the
/// consume context (<c>context.TryGetPayload&lt;IKeyedScheduler&gt;(out var scheduler)</c>).
/// Scheduling and cancelling under one key take turns (a lock held until the transaction ends), so
/// a cancel that runs first is seen by the schedule through <see cref="CancelledBy"/>.
/// </summary>
public interface IKeyedScheduler
{
    /// <summary>
    /// Sends <paramref name="message"/> to <paramref name="destination"/> at <paramref name="dueAt"/>,
    /// unless the key is cancelled first; written when the consumer's transaction commits. Returns
    /// false, scheduling nothing, when <paramref name="unless"/> finds a cancelling event already stored.
    /// </summary>
    Task<bool> ScheduleAsync<T>(Guid key, Uri destination, DateTimeOffset dueAt, T message, CancelledBy? unless, CancellationToken cancellationToken)
        where T : class;

    /// <summary>Cancels every message scheduled under <paramref name="key"/> that is not yet due, in the consumer's transaction.</summary>
    Task CancelAsync(Guid key, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels what was scheduled under <paramref name="key"/> and is not yet due, in the consumer's
    /// transaction, but only what an event before <paramref name="version"/> of the stream scheduled
    /// (<see cref="CancelledBy.Version"/> of its schedule; one scheduled without it is cancelled too):
    /// an event of the stream handled after a later one cancels nothing that later one scheduled.
    /// </summary>
    Task CancelAsync(Guid key, long version, CancellationToken cancellationToken);

    /// <summary>A key from text (a reaction's name and a stream id): the first 16 bytes of its SHA-256.</summary>
    static Guid KeyOf(string text) =>
        new(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));
}

/// <summary>
/// Events that cancel a schedule: of <paramref name="EventTypes"/> (stable type names), stored in
/// <paramref name="StreamId"/> after <paramref name="Version"/>, the version of the event that schedules.
/// One stored already was handled, or will be, before the schedule could be cancelled by it.
/// </summary>
public sealed record CancelledBy(string StreamId, long Version, IReadOnlyList<string> EventTypes);
