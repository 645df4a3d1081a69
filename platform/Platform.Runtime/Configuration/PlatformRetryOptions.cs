namespace Platform.Runtime.Configuration;

/// <summary>
/// The retry section of <see cref="PlatformOptions"/> (<c>Platform:Retries</c>): how a command or
/// event consumer that throws is retried before its message is dead-lettered in the store's
/// <c>message_dead_letters</c> table. A message is tried <c>1 + ImmediateRetries + ExponentialRetries</c>
/// times in all; the order guard's own retries (<c>Transport:OutOfOrderRetries</c>) do not count.
/// </summary>
public sealed class PlatformRetryOptions
{
    /// <summary>Retries without a wait, first. Default 2.</summary>
    public int ImmediateRetries { get; set; } = 2;

    /// <summary>Retries after a wait that doubles from <see cref="MinInterval"/> up to <see cref="MaxInterval"/>, after the immediate ones. Default 3.</summary>
    public int ExponentialRetries { get; set; } = 3;

    /// <summary>The first exponential wait. Default 200 ms.</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest exponential wait. Default 30 s.</summary>
    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the runtime looks for dead letters an operator asked to replay (<c>platform dlq replay</c>). Default 1 s.</summary>
    public TimeSpan ReplayPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The waits between attempts: <see cref="ImmediateRetries"/> zeros, then
    /// <see cref="ExponentialRetries"/> waits of <c>MinInterval * 2^k</c>, capped at <see cref="MaxInterval"/>.
    /// </summary>
    public IReadOnlyList<TimeSpan> Intervals()
    {
        var intervals = new List<TimeSpan>(ImmediateRetries + ExponentialRetries);
        for (var i = 0; i < ImmediateRetries; i++)
            intervals.Add(TimeSpan.Zero);
        var wait = MinInterval;
        for (var i = 0; i < ExponentialRetries; i++)
        {
            intervals.Add(wait < MaxInterval ? wait : MaxInterval);
            wait = wait < MaxInterval ? wait * 2 : MaxInterval;
        }
        return intervals;
    }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ImmediateRetries, "Platform:Retries:ImmediateRetries");
        ArgumentOutOfRangeException.ThrowIfNegative(ExponentialRetries, "Platform:Retries:ExponentialRetries");
        ArgumentOutOfRangeException.ThrowIfLessThan(MinInterval, TimeSpan.Zero, "Platform:Retries:MinInterval");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInterval, MinInterval, "Platform:Retries:MaxInterval");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ReplayPollInterval, TimeSpan.Zero, "Platform:Retries:ReplayPollInterval");
    }
}
