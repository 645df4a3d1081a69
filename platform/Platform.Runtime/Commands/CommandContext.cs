namespace Platform.Runtime.Commands;

/// <summary>Where a command comes from: stored as the correlation and causation of the events it produces.</summary>
/// <param name="CommandId">
/// The command's id, the causation id of its events; a new one when null. A command given the id of
/// one already handled on the same aggregate is not run again (<see cref="CommandAccepted.Duplicate"/>):
/// give each command its own id, and the same id when sending it again.
/// </param>
/// <param name="CorrelationId">The business flow's correlation id; the command id when null.</param>
/// <param name="UserId">Who sent the command.</param>
/// <param name="ExpectedVersion">
/// The aggregate's version the sender read (an HTTP API's <c>If-Match</c>): the command runs only on
/// that version, and is refused with <see cref="Platform.Commands.CommandVersionConflictException"/>
/// on another, without the usual rerun after a concurrent write. Null: it runs on the current
/// version, and again on the new one after a concurrent write.
/// </param>
public sealed record CommandContext(Guid? CommandId = null, string? CorrelationId = null, string? UserId = null, long? ExpectedVersion = null);

/// <summary>The outcome of a command that was handled.</summary>
/// <param name="CommandId">The command's id (causation id of the events).</param>
/// <param name="StreamId">The aggregate it addressed.</param>
/// <param name="Version">The aggregate's version after the command.</param>
/// <param name="Attempts">How many times it ran: 1, plus one per concurrency conflict.</param>
/// <param name="Position">
/// The global position of the aggregate's last event after the command (its own last event when it
/// appended any; 0 when unknown). Read models are eventually consistent: pass it to
/// <see cref="Projections.ProjectionConsistency.WaitForAsync(string, CommandAccepted, TimeSpan, CancellationToken)"/>
/// to read a projection that includes the command.
/// </param>
public sealed record CommandAccepted(Guid CommandId, string StreamId, long Version, int Attempts, long Position = 0)
{
    /// <summary>
    /// True when the command had been handled before under the same id (a redelivery, a client's
    /// retry): its events were already stored, so it was not run again, and <see cref="Version"/>
    /// and <see cref="Position"/> are those of its last stored event.
    /// </summary>
    public bool Duplicate { get; init; }
}
