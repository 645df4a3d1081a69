using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Platform.EventStore.Schema;

/// <summary>The columns every stored event has, in the hot table and in the archive alike.</summary>
public abstract class StoredEventRow
{
    /// <summary>Position in the whole store; assigned by the database on insert.</summary>
    public long GlobalPosition { get; set; }

    /// <summary>The stream (aggregate id).</summary>
    public string StreamId { get; set; } = "";

    /// <summary>The stream's type (aggregate type).</summary>
    public string StreamType { get; set; } = "";

    /// <summary>Version of the stream after this event, from 1.</summary>
    public long StreamVersion { get; set; }

    /// <summary>Unique id of the event.</summary>
    public Guid EventId { get; set; }

    /// <summary>Stable type name.</summary>
    public string TypeName { get; set; } = "";

    /// <summary>Schema version the data was written with.</summary>
    public int SchemaVersion { get; set; }

    /// <summary>The event as JSON.</summary>
    public string Data { get; set; } = "";

    /// <summary>Correlation, causation, user and trace context as JSON; null when empty.</summary>
    public string? Metadata { get; set; }

    /// <summary>When the event was appended (UTC).</summary>
    public DateTimeOffset Timestamp { get; set; }
}

/// <summary>A row of the <c>events</c> table: the hot, appendable part of the store.</summary>
public sealed class EventRecord : StoredEventRow;

/// <summary>
/// The <c>events</c> table. (stream_id, stream_version) is unique: that index is the optimistic
/// concurrency check. event_id is unique so an event is never stored twice.
/// </summary>
sealed class EventsTable(bool postgres) : IEntityTypeConfiguration<EventRecord>
{
    public void Configure(EntityTypeBuilder<EventRecord> builder)
    {
        builder.ToTable("events");
        StoredEventColumns.Configure(builder, postgres, "events");
        builder.Property(e => e.GlobalPosition).ValueGeneratedOnAdd();
        builder.HasIndex(e => e.EventId).IsUnique().HasDatabaseName("ix_events_event_id");
        builder.HasIndex(e => new { e.TypeName, e.Timestamp }).HasDatabaseName("ix_events_type_name_timestamp");
    }
}

static class StoredEventColumns
{
    /// <summary>The same columns for both tables, so archiving is a plain INSERT ... SELECT.</summary>
    public static void Configure<T>(EntityTypeBuilder<T> builder, bool postgres, string table) where T : StoredEventRow
    {
        builder.HasKey(e => e.GlobalPosition).HasName($"pk_{table}");
        builder.Property(e => e.GlobalPosition).HasColumnName("global_position");
        builder.Property(e => e.StreamId).HasColumnName("stream_id").IsRequired();
        builder.Property(e => e.StreamType).HasColumnName("stream_type").IsRequired();
        builder.Property(e => e.StreamVersion).HasColumnName("stream_version");
        builder.Property(e => e.EventId).HasColumnName("event_id");
        builder.Property(e => e.TypeName).HasColumnName("type_name").IsRequired();
        builder.Property(e => e.SchemaVersion).HasColumnName("schema_version");
        builder.Property(e => e.Data).HasColumnName("data").IsRequired();
        builder.Property(e => e.Metadata).HasColumnName("metadata");
        builder.Property(e => e.Timestamp).HasColumnName("timestamp");
        if (postgres)
        {
            builder.Property(e => e.Data).HasColumnType("jsonb");
            builder.Property(e => e.Metadata).HasColumnType("jsonb");
        }
        else
        {
            // SQLite cannot compare or order DateTimeOffset text; ticks keep "since a time" a range scan.
            builder.Property(e => e.Timestamp).HasConversion(Converters.UtcTicks);
        }
        builder.HasIndex(e => new { e.StreamId, e.StreamVersion }).IsUnique()
            .HasDatabaseName($"ix_{table}_stream_id_stream_version");
    }
}
