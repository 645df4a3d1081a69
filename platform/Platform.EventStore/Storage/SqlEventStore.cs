using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Configuration;
using Platform.EventStore.Schema;
using Platform.EventStore.Serialization;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Storage;

/// <summary>
/// The event store on a relational database (PostgreSQL or SQLite) through EF Core. Thread-safe;
/// register one per process. Split by feature into partial files: appends, reads, the gap-free
/// read of all events, aggregates and snapshots, archiving, the inbox and checkpoints.
/// </summary>
/// <remarks>
/// Named <c>SqlEventStore</c> rather than <c>EventStore</c> so that it never collides with the
/// <c>Platform.EventStore</c> namespace in code that lives under <c>Platform.*</c>.
/// </remarks>
public sealed partial class SqlEventStore : IEventStore, IAggregateStore, IAsyncDisposable
{
    readonly EventStoreOptions _options;
    readonly EventTypeRegistry _registry;
    readonly StoreDialect _dialect;
    readonly ILogger _logger;

    /// <summary>Creates a store. Call <see cref="MigrateAsync"/> once before first use.</summary>
    /// <param name="options">The database and behaviour; see <see cref="EventStoreOptions"/>.</param>
    /// <param name="registry">The event types this build can write and read.</param>
    /// <param name="loggerFactory">Where dead letters and relay errors are logged.</param>
    public SqlEventStore(EventStoreOptions options, EventTypeRegistry registry, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        options.Validate();
        _options = options;
        _registry = registry;
        _logger = (ILogger?)loggerFactory?.CreateLogger<SqlEventStore>() ?? NullLogger.Instance;
        _dialect = options.Provider == EventStoreProvider.Postgres
            ? new PostgresDialect(options.ConnectionString, options.ConcurrentAppends)
            : new SqliteDialect(options.ConnectionString);
    }

    /// <summary>The event types this store reads and writes.</summary>
    public EventTypeRegistry Registry => _registry;

    /// <summary>The options the store was created with.</summary>
    public EventStoreOptions Options => _options;

    /// <summary>Creates or updates the schema by applying the EF Core migrations of the chosen database.</summary>
    /// <param name="cancellationToken">Cancels the migration.</param>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var context = _dialect.CreateContext();
        await context.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A new EF Core context on the store's database, for queries the store does not offer
    /// (reports, operations). Dispose it after use.
    /// </summary>
    public EventStoreDbContext CreateDbContext() => _dialect.CreateContext();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dialect.DisposeAsync();

    EncodedEvent[] Encode(IReadOnlyList<EventData> events)
    {
        var encoded = new EncodedEvent[events.Count];
        for (var i = 0; i < encoded.Length; i++)
        {
            var data = events[i];
            ArgumentNullException.ThrowIfNull(data.Event);
            var descriptor = _registry.Get(data.Event.GetType());
            encoded[i] = new EncodedEvent(
                data.EventId, descriptor.TypeName, descriptor.SchemaVersion,
                EventCodec.Serialize(descriptor, data.Event), EventCodec.Serialize(data.Metadata));
        }
        return encoded;
    }

    /// <summary>
    /// Turns a stored row into an envelope, upcasting on the way. A row that cannot be read
    /// either throws (naming stream, version and position) or, with
    /// <see cref="BadEventHandling.DeadLetter"/>, is recorded and yields null.
    /// </summary>
    async ValueTask<EventEnvelope?> ToEnvelopeAsync(StoredEventRow row, CancellationToken cancellationToken)
    {
        var result = TryDecode(row, out var error);
        if (result is not null)
            return result;
        if (_options.OnBadEvent == BadEventHandling.Throw)
            throw error!;
        await RecordDeadLetterAsync(row, error!, cancellationToken).ConfigureAwait(false);
        return null;
    }

    EventEnvelope? TryDecode(StoredEventRow row, out EventDeserializationException? error)
    {
        error = null;
        if (!_registry.TryGet(row.TypeName, out var descriptor))
        {
            error = Bad(row, "the type is unknown to this build (written by a newer version?)", null);
            return null;
        }
        if (row.SchemaVersion > descriptor.SchemaVersion || row.SchemaVersion < 1)
        {
            error = Bad(row, $"schema version {row.SchemaVersion} is not between 1 and the current {descriptor.SchemaVersion}", null);
            return null;
        }
        object @event;
        try
        {
            @event = EventCodec.ReadUtf8(row.Data, (descriptor, row.SchemaVersion),
                static (utf8, arg) => arg.descriptor.Deserialize(utf8, arg.SchemaVersion));
        }
        catch (Exception exception) when (exception is not OperationCanceledException and not OutOfMemoryException)
        {
            // Whatever a descriptor (generated or hand-written) throws on stored data means the
            // event cannot be read; it must become a named error or a dead letter, not a crash.
            error = Bad(row, $"its JSON cannot be read: {exception.Message}", exception);
            return null;
        }
        EventMetadata metadata;
        try
        {
            metadata = EventCodec.ParseMetadata(row.Metadata);
        }
        catch (System.Text.Json.JsonException exception)
        {
            error = Bad(row, $"its metadata cannot be read: {exception.Message}", exception);
            return null;
        }
        return new EventEnvelope(row.EventId, row.TypeName, row.SchemaVersion, row.StreamId, row.StreamType,
            row.StreamVersion, row.GlobalPosition, row.Timestamp, metadata, @event);
    }

    static EventDeserializationException Bad(StoredEventRow row, string reason, Exception? inner) =>
        new(reason, row.StreamId, row.StreamVersion, row.GlobalPosition, row.TypeName, row.SchemaVersion, inner);

    async Task RecordDeadLetterAsync(StoredEventRow row, EventDeserializationException error, CancellationToken cancellationToken)
    {
        _logger.LogError(error, "Event at global position {GlobalPosition} of stream {StreamId} v{StreamVersion} was dead-lettered",
            row.GlobalPosition, row.StreamId, row.StreamVersion);
        using var turn = await _dialect.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var context = _dialect.CreateContext();
        // Readers may meet the same bad event again (rebuilds, several readers): one record per event.
        await context.Database.ExecuteSqlRawAsync(
            """
            INSERT INTO dead_letters (global_position, stream_id, stream_version, event_id, type_name, schema_version, reason, recorded_at)
            VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}) ON CONFLICT (global_position) DO NOTHING
            """,
            [row.GlobalPosition, row.StreamId, row.StreamVersion, GuidParameter(row.EventId), row.TypeName, row.SchemaVersion,
             error.Reason, _dialect.TimestampParameter(DateTimeOffset.UtcNow)],
            cancellationToken).ConfigureAwait(false);
    }

    object GuidParameter(Guid id) =>
        _options.Provider == EventStoreProvider.Sqlite ? SqliteDialect.SqliteGuid(id) : id;
}
