namespace Platform.Runtime.Configuration;

/// <summary>Which database holds the event store (and, beside it, the read models and the inbox).</summary>
public enum StoreProvider
{
    /// <summary>SQLite: the embedded default, one process.</summary>
    Sqlite,

    /// <summary>PostgreSQL: production, many processes.</summary>
    Postgres,
}

/// <summary>Which message bus the runtime runs on.</summary>
public enum TransportKind
{
    /// <summary>MassTransit's in-memory transport: one process, the default.</summary>
    InMemory,

    /// <summary>RabbitMQ through MassTransit.RabbitMQ.</summary>
    RabbitMq,
}

/// <summary>The event store section of <see cref="PlatformOptions"/> (<c>Platform:Store</c>).</summary>
public sealed class PlatformStoreOptions
{
    /// <summary>The database. Default <see cref="StoreProvider.Sqlite"/>.</summary>
    public StoreProvider Provider { get; set; } = StoreProvider.Sqlite;

    /// <summary>The connection string (Npgsql or Microsoft.Data.Sqlite).</summary>
    public string ConnectionString { get; set; } = "";
}

/// <summary>The transport section of <see cref="PlatformOptions"/> (<c>Platform:Transport</c>).</summary>
public sealed class PlatformTransportOptions
{
    /// <summary>The bus. Default <see cref="TransportKind.InMemory"/>.</summary>
    public TransportKind Kind { get; set; } = TransportKind.InMemory;

    /// <summary>The AMQP URI when <see cref="Kind"/> is <see cref="TransportKind.RabbitMq"/>, e.g. <c>amqp://guest:guest@localhost:5672/</c>.</summary>
    public string? RabbitMqUri { get; set; }

    /// <summary>Prefix of every queue the runtime declares, so several services share a broker. Default <c>platform</c>.</summary>
    public string QueuePrefix { get; set; } = "platform";

    /// <summary>Messages fetched ahead per event-consumer endpoint. Default 16.</summary>
    public int PrefetchCount { get; set; } = 16;

    /// <summary>
    /// Partitions per event-consumer endpoint: events of one stream always land in the same
    /// partition and are consumed one at a time; partitions run in parallel. Default 8.
    /// </summary>
    public int Partitions { get; set; } = 8;

    /// <summary>
    /// How many times an event that arrived before an earlier event of its stream is retried
    /// (waits of 10 ms, 30 ms, 50 ms, ...) before it faults. Default 50 (about 25 s in all).
    /// </summary>
    public int OutOfOrderRetries { get; set; } = 50;

    /// <summary>
    /// Declare RabbitMQ queues as auto-delete and non-durable: for tests and throwaway instances,
    /// whose queues would otherwise stay bound and fill up after they stop. Default false.
    /// </summary>
    public bool AutoDeleteQueues { get; set; }
}

/// <summary>The command section of <see cref="PlatformOptions"/> (<c>Platform:Commands</c>).</summary>
public sealed class PlatformCommandOptions
{
    /// <summary>How many times a command is run again after a <see cref="Persistence.ConcurrencyException"/>. Default 5.</summary>
    public int MaxConcurrencyRetries { get; set; } = 5;
}

/// <summary>The outbox relay section of <see cref="PlatformOptions"/> (<c>Platform:Relay</c>).</summary>
public sealed class PlatformRelayOptions
{
    /// <summary>Run the relay as a hosted service. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Events per read and publish. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How long the relay waits once caught up. Default 50 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>The projection section of <see cref="PlatformOptions"/> (<c>Platform:Projections</c>).</summary>
public sealed class PlatformProjectionOptions
{
    /// <summary>Run the projection engine as a hosted service. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Events applied per transaction. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How long a caught-up projection waits before reading the store again. Default 50 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a projection waits after a failure before trying the same batch again. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts at the same event before its projection is parked (the others go on) until resumed. Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;
}
