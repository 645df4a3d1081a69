namespace Platform.Runtime.Configuration;

/// <summary>
/// The saga section of <see cref="PlatformOptions"/> (<c>Platform:Sagas</c>): the generated sagas and
/// reactions of the loaded domains, their repository, timeouts and outbox (see docs/sagas.md).
/// </summary>
public sealed class PlatformSagaOptions
{
    readonly Dictionary<Type, Uri> _routes = [];

    /// <summary>Register the loaded domains' sagas and reactions on the bus. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How many times a saga step is run again on the reloaded saga after another message saved it first. Default 10.</summary>
    public int MaxConcurrencyRetries { get; set; } = 10;

    /// <summary>Messages fetched ahead, and handled at once, per saga and reaction endpoint. Default 16.</summary>
    public int PrefetchCount { get; set; } = 16;

    /// <summary>How often the scheduler looks for due timeouts and undelivered outbox messages. Default 100 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Messages delivered per poll. Default 200.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>
    /// How long after its step committed an outbox message is left to the step itself (which delivers
    /// it right after the commit) before the poller delivers it, e.g. after a crash. Default 5 s.
    /// </summary>
    public TimeSpan LeftoverDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Timeout delays that replace the generated ones, by timeout message type name (e.g.
    /// <c>OrderFulfilmentInventoryTimeout</c>: <c>Platform:Sagas:Timeouts:OrderFulfilmentInventoryTimeout = 00:00:02</c>).
    /// </summary>
    public Dictionary<string, TimeSpan> Timeouts { get; } = new(StringComparer.Ordinal);

    /// <summary>Commands that no loaded aggregate handles, and the queue each is sent to.</summary>
    public IReadOnlyDictionary<Type, Uri> Routes => _routes;

    /// <summary>Sends <typeparamref name="TCommand"/>, when a saga or reaction sends it, to <paramref name="address"/> (e.g. <c>queue:payments</c>).</summary>
    /// <typeparam name="TCommand">The command type.</typeparam>
    /// <param name="address">The queue address.</param>
    public PlatformSagaOptions Route<TCommand>(Uri address) where TCommand : class
    {
        ArgumentNullException.ThrowIfNull(address);
        _routes[typeof(TCommand)] = address;
        return this;
    }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxConcurrencyRetries, "Platform:Sagas:MaxConcurrencyRetries");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PollInterval, TimeSpan.Zero, "Platform:Sagas:PollInterval");
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, "Platform:Sagas:BatchSize");
        ArgumentOutOfRangeException.ThrowIfLessThan(LeftoverDelay, TimeSpan.Zero, "Platform:Sagas:LeftoverDelay");
        foreach (var (name, delay) in Timeouts)
        {
            if (delay < TimeSpan.Zero)
                throw new InvalidOperationException($"Platform:Sagas:Timeouts:{name} is negative; give a delay such as 00:00:30.");
        }
    }
}
