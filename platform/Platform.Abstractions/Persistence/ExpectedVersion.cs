namespace Platform.Persistence;

/// <summary>
/// What the caller believes the stream's version is before an append: anything, no stream at all,
/// or exactly N. The store rejects the append with a <see cref="ConcurrencyException"/> when the
/// belief is wrong, which is how two writers of one aggregate learn about each other.
/// </summary>
public readonly record struct ExpectedVersion
{
    const long AnyValue = -1;

    ExpectedVersion(long value) => Value = value;

    /// <summary>The raw value: -1 for <see cref="Any"/>, otherwise the expected stream version (0 = no stream).</summary>
    public long Value { get; }

    /// <summary>Append whatever the stream's version is.</summary>
    public static ExpectedVersion Any => new(AnyValue);

    /// <summary>The stream must not exist yet (has no events).</summary>
    public static ExpectedVersion NoStream => new(0);

    /// <summary>The stream's last event must have version <paramref name="version"/> (0 means no stream).</summary>
    /// <param name="version">The expected current version, 0 or more.</param>
    public static ExpectedVersion Exactly(long version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        return new(version);
    }

    /// <summary>True for <see cref="Any"/>.</summary>
    public bool IsAny => Value == AnyValue;

    /// <summary>True when the given current version satisfies this expectation.</summary>
    /// <param name="actualVersion">The stream's current version (0 when it has no events).</param>
    public bool IsSatisfiedBy(long actualVersion) => IsAny || Value == actualVersion;

    /// <inheritdoc />
    public override string ToString() => Value switch
    {
        AnyValue => "any",
        0 => "no stream",
        _ => Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
