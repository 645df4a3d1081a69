using Microsoft.EntityFrameworkCore;

namespace Platform.EventStore.Schema;

/// <summary>
/// The event store's EF Core model. One subclass per database so each keeps its own migrations
/// (column types differ: jsonb and timestamptz on PostgreSQL, text and ticks on SQLite).
/// </summary>
public abstract class EventStoreDbContext(DbContextOptions options) : DbContext(options)
{
    /// <summary>True for the PostgreSQL model.</summary>
    protected abstract bool IsPostgres { get; }

    /// <summary>The hot events.</summary>
    public DbSet<EventRecord> Events => Set<EventRecord>();

    /// <summary>Events moved out by archiving.</summary>
    public DbSet<ArchivedEventRecord> ArchivedEvents => Set<ArchivedEventRecord>();

    /// <summary>The latest snapshot per stream.</summary>
    public DbSet<SnapshotRecord> Snapshots => Set<SnapshotRecord>();

    /// <summary>The message inbox of sagas, reactions and command consumers (by message id).</summary>
    public DbSet<ProcessedMessageRecord> ProcessedMessages => Set<ProcessedMessageRecord>();

    /// <summary>The inbox of ordered event consumers: the last version processed per consumer and stream.</summary>
    public DbSet<ConsumerStreamRecord> ConsumerStreams => Set<ConsumerStreamRecord>();

    /// <summary>Reader checkpoints.</summary>
    public DbSet<SubscriptionCheckpointRecord> SubscriptionCheckpoints => Set<SubscriptionCheckpointRecord>();

    /// <summary>Events that could not be read.</summary>
    public DbSet<DeadLetterRecord> DeadLetters => Set<DeadLetterRecord>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfiguration(new EventsTable(IsPostgres));
        modelBuilder.ApplyConfiguration(new ArchivedEventsTable(IsPostgres));
        modelBuilder.ApplyConfiguration(new SnapshotsTable(IsPostgres));
        modelBuilder.ApplyConfiguration(new ProcessedMessagesTable(IsPostgres));
        modelBuilder.ApplyConfiguration(new ConsumerStreamsTable(IsPostgres));
        modelBuilder.ApplyConfiguration(new SubscriptionCheckpointsTable(IsPostgres));
        modelBuilder.ApplyConfiguration(new DeadLettersTable(IsPostgres));
    }
}

/// <summary>The model on PostgreSQL; its migrations are under <c>Migrations/Postgres</c>.</summary>
public sealed class PostgresEventStoreDbContext(DbContextOptions<PostgresEventStoreDbContext> options)
    : EventStoreDbContext(options)
{
    /// <inheritdoc />
    protected override bool IsPostgres => true;
}

/// <summary>The model on SQLite; its migrations are under <c>Migrations/Sqlite</c>.</summary>
public sealed class SqliteEventStoreDbContext(DbContextOptions<SqliteEventStoreDbContext> options)
    : EventStoreDbContext(options)
{
    /// <inheritdoc />
    protected override bool IsPostgres => false;
}
