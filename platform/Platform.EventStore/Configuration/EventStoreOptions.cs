namespace Platform.EventStore.Configuration;

/// <summary>Which database the store uses.</summary>
public enum EventStoreProvider
{
    /// <summary>No database chosen yet.</summary>
    None,

    /// <summary>PostgreSQL: production, many processes.</summary>
    Postgres,

    /// <summary>SQLite: the embedded default, one process.</summary>
    Sqlite,
}

/// <summary>What a reader does with a stored event it cannot read (unknown type, no upcaster, corrupt JSON).</summary>
public enum BadEventHandling
{
    /// <summary>Throw an <see cref="Platform.Persistence.EventDeserializationException"/> naming the event; a reader loop stops at it and retries.</summary>
    Throw,

    /// <summary>Record the event in <c>dead_letters</c>, log it, and skip it.</summary>
    DeadLetter,
}

/// <summary>How the event store is set up: <c>services.AddEventStore(o => o.UsePostgres(cs))</c>.</summary>
public sealed class EventStoreOptions
{
    /// <summary>The database chosen with <see cref="UsePostgres"/> or <see cref="UseSqlite"/>.</summary>
    public EventStoreProvider Provider { get; private set; }

    /// <summary>The connection string given with the provider.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>What readers do with events they cannot read. Default: <see cref="BadEventHandling.Throw"/>.</summary>
    public BadEventHandling OnBadEvent { get; set; } = BadEventHandling.Throw;

    /// <summary>How many times an append with <c>ExpectedVersion.Any</c> is retried when another writer takes its version. Default 10.</summary>
    public int AnyVersionRetries { get; set; } = 10;

    /// <summary>
    /// PostgreSQL: appends (each in a transaction of its own, as a command handler's save) that run
    /// at once. Appends that arrive while that many run wait and then go to the database together,
    /// up to 64 appends to different streams in one statement and one commit, each with its own
    /// expected version and its own answer; a lone append runs at once. 0 sends every append alone.
    /// Appends inside a transaction (<c>BeginTransactionAsync</c>) are never grouped. Default 8.
    /// </summary>
    public int ConcurrentAppends { get; set; } = 8;

    /// <summary>Store events in PostgreSQL.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    public EventStoreOptions UsePostgres(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Provider = EventStoreProvider.Postgres;
        ConnectionString = connectionString;
        return this;
    }

    /// <summary>Store events in a SQLite file (single process).</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=events.db</c>.</param>
    public EventStoreOptions UseSqlite(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Provider = EventStoreProvider.Sqlite;
        ConnectionString = connectionString;
        return this;
    }

    internal void Validate()
    {
        if (Provider == EventStoreProvider.None)
            throw new InvalidOperationException("Choose a database for the event store: o.UsePostgres(cs) or o.UseSqlite(cs).");
        ArgumentOutOfRangeException.ThrowIfNegative(AnyVersionRetries);
        ArgumentOutOfRangeException.ThrowIfNegative(ConcurrentAppends);
    }
}
