namespace Platform.Persistence;

/// <summary>
/// A stored event could not be turned into an object: its type is unknown to this build (written
/// by a newer version), its schema version has no upcaster, or its JSON is corrupt. Names the
/// event's place so an operator can find it.
/// </summary>
public sealed class EventDeserializationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Why the event could not be read.</param>
    /// <param name="streamId">The event's stream.</param>
    /// <param name="streamVersion">The event's version in its stream.</param>
    /// <param name="globalPosition">The event's global position.</param>
    /// <param name="typeName">The stored type name.</param>
    /// <param name="schemaVersion">The stored schema version.</param>
    /// <param name="innerException">The serializer's error, when there was one.</param>
    public EventDeserializationException(
        string reason, string streamId, long streamVersion, long globalPosition, string typeName, int schemaVersion,
        Exception? innerException = null)
        : base($"Cannot read event '{typeName}' v{schemaVersion} of stream '{streamId}' at version {streamVersion}, " +
               $"global position {globalPosition}: {reason}", innerException)
    {
        Reason = reason;
        StreamId = streamId;
        StreamVersion = streamVersion;
        GlobalPosition = globalPosition;
        TypeName = typeName;
        SchemaVersion = schemaVersion;
    }

    /// <summary>Why the event could not be read.</summary>
    public string Reason { get; }

    /// <summary>The event's stream.</summary>
    public string StreamId { get; }

    /// <summary>The event's version in its stream.</summary>
    public long StreamVersion { get; }

    /// <summary>The event's global position.</summary>
    public long GlobalPosition { get; }

    /// <summary>The stored type name.</summary>
    public string TypeName { get; }

    /// <summary>The stored schema version.</summary>
    public int SchemaVersion { get; }
}
