using Platform.Events;

namespace Platform.Runtime.Projections;

/// <summary>
/// A projection's batch failed. Names the event when the batch held one event of the projection
/// (after a failure the runner retries one event per batch, so a repeated failure names it).
/// </summary>
public sealed class ProjectionApplyException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="projection">The projection.</param>
    /// <param name="checkpoint">The checkpoint the failed batch started after.</param>
    /// <param name="envelope">The event that failed, when known.</param>
    /// <param name="inner">The failure.</param>
    public ProjectionApplyException(string projection, long checkpoint, EventEnvelope? envelope, Exception inner)
        : base(envelope is null
            ? $"Projection {projection} failed on the batch after position {checkpoint}: {inner.Message}"
            : $"Projection {projection} failed on event '{envelope.TypeName}' of stream '{envelope.StreamId}' at position {envelope.GlobalPosition}: {inner.Message}",
            inner)
    {
        Projection = projection;
        Checkpoint = checkpoint;
        GlobalPosition = envelope?.GlobalPosition;
        StreamId = envelope?.StreamId;
        EventType = envelope?.TypeName;
    }

    /// <summary>The projection.</summary>
    public string Projection { get; }

    /// <summary>The checkpoint the failed batch started after.</summary>
    public long Checkpoint { get; }

    /// <summary>The failing event's global position, when the batch held one event.</summary>
    public long? GlobalPosition { get; }

    /// <summary>The failing event's stream, when known.</summary>
    public string? StreamId { get; }

    /// <summary>The failing event's stored type name, when known.</summary>
    public string? EventType { get; }
}
