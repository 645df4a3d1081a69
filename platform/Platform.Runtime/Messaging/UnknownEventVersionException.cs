namespace Platform.Runtime.Messaging;

/// <summary>
/// An event sent at a schema version this build does not know: written by a newer build (or one
/// whose older version this build has no record of). Not retried; its dead letter keeps the message
/// as sent, and a build that knows the version replays it by itself (<c>DeadLetterReplayService</c>).
/// </summary>
public sealed class UnknownEventVersionException(string eventType, int version, int known)
    : Exception($"{eventType} schema version {version} is not known to this build (it knows up to {known}); " + (version > known
        ? "it was sent by a newer build, whose instances replay this dead letter by themselves"
        : "this build has no record of that version to read it as"))
{
    /// <summary>The event's stored type name.</summary>
    public string EventType { get; } = eventType;

    /// <summary>The version the message was sent at.</summary>
    public int Version { get; } = version;
}
