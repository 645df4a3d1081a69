namespace Platform.Commands;

/// <summary>
/// A command whose fields break the constraints declared in its definition (required, non-empty,
/// ranges, lengths). Nothing was loaded or stored.
/// </summary>
public sealed class CommandValidationException : Exception
{
    /// <summary>Creates the exception for <paramref name="command"/> with every problem found.</summary>
    public CommandValidationException(string command, IReadOnlyList<string> errors)
        : base($"{command} is invalid: {string.Join("; ", errors)}")
    {
        Command = command;
        Errors = errors;
    }

    /// <summary>The command's name.</summary>
    public string Command { get; }

    /// <summary>Each broken constraint, as a sentence naming the field.</summary>
    public IReadOnlyList<string> Errors { get; }
}

/// <summary>
/// A valid command that the aggregate's current state does not allow (a declared guard or a
/// hand-written business rule said no). Retrying does not help; nothing was stored.
/// </summary>
public class CommandRejectedException : Exception
{
    /// <summary>Creates the exception for <paramref name="command"/> on <paramref name="aggregateType"/>.</summary>
    public CommandRejectedException(string command, string aggregateType, string reason)
        : base($"{command} rejected by {aggregateType}: {reason}")
    {
        Command = command;
        AggregateType = aggregateType;
        Reason = reason;
    }

    /// <summary>The command's name.</summary>
    public string Command { get; }

    /// <summary>The aggregate type that rejected it.</summary>
    public string AggregateType { get; }

    /// <summary>Why, in words a caller can show.</summary>
    public string Reason { get; }
}

/// <summary>
/// A command sent with the aggregate's version its sender read (<c>CommandContext.ExpectedVersion</c>,
/// the <c>Platform-Expected-Version</c> header) found the aggregate at another: it changed since
/// (an HTTP API's 409 for a stale <c>If-Match</c>). Nothing was stored, and the command is not run
/// again on the new state: the sender decides, after reading it again.
/// </summary>
public sealed class CommandVersionConflictException : CommandRejectedException
{
    /// <summary>Creates the exception for <paramref name="command"/> on <paramref name="aggregateType"/>.</summary>
    public CommandVersionConflictException(string command, string aggregateType, string streamId, long expectedVersion, long actualVersion)
        : base(command, aggregateType, $"'{streamId}' is at version {actualVersion}, not {expectedVersion} as its sender read it: it changed since")
    {
        StreamId = streamId;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>The aggregate's id.</summary>
    public string StreamId { get; }

    /// <summary>The version the sender read.</summary>
    public long ExpectedVersion { get; }

    /// <summary>The version the aggregate was at.</summary>
    public long ActualVersion { get; }
}
