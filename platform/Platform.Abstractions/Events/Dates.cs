namespace Platform.Events;

/// <summary>
/// What generated code calls where YAML assigns a value to a <c>date</c> field: a <c>timestamp</c>
/// becomes its calendar date in its own offset (<c>$meta.timestamp</c>, stored in UTC, its UTC
/// date); a date stays itself.
/// </summary>
public static class Dates
{
    /// <summary>The date itself.</summary>
    /// <param name="value">A date.</param>
    public static DateOnly ToDate(DateOnly value) => value;

    /// <summary>The date itself, or null.</summary>
    /// <param name="value">A date or null.</param>
    public static DateOnly? ToDate(DateOnly? value) => value;

    /// <summary>The timestamp's calendar date in its own offset.</summary>
    /// <param name="value">A timestamp.</param>
    public static DateOnly ToDate(DateTimeOffset value) => DateOnly.FromDateTime(value.DateTime);

    /// <summary>The timestamp's calendar date in its own offset, or null.</summary>
    /// <param name="value">A timestamp or null.</param>
    public static DateOnly? ToDate(DateTimeOffset? value) => value is { } timestamp ? ToDate(timestamp) : null;
}
