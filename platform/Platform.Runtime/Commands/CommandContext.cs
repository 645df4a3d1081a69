namespace Platform.Runtime.Commands;

/// <summary>Where a command comes from: stored as the correlation and causation of the events it produces.</summary>
/// <param name="CommandId">The command's id, the causation id of its events; a new one when null.</param>
/// <param name="CorrelationId">The business flow's correlation id; the command id when null.</param>
/// <param name="UserId">Who sent the command.</param>
public sealed record CommandContext(Guid? CommandId = null, string? CorrelationId = null, string? UserId = null);

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
public sealed record CommandAccepted(Guid CommandId, string StreamId, long Version, int Attempts, long Position = 0);
