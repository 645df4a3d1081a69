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
public sealed class CommandRejectedException : Exception
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
