using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Platform.EventStore.Schema;

/// <summary>A row of <c>dead_letters</c>: a stored event that could not be read, kept for an operator.</summary>
public sealed class DeadLetterRecord
{
    /// <summary>The event's global position (one dead letter per event).</summary>
    public long GlobalPosition { get; set; }

    /// <summary>The event's stream.</summary>
    public string StreamId { get; set; } = "";

    /// <summary>The event's version in its stream.</summary>
    public long StreamVersion { get; set; }

    /// <summary>The event id.</summary>
    public Guid EventId { get; set; }

    /// <summary>The stored type name.</summary>
    public string TypeName { get; set; } = "";

    /// <summary>The stored schema version.</summary>
    public int SchemaVersion { get; set; }

    /// <summary>Why it could not be read.</summary>
    public string Reason { get; set; } = "";

    /// <summary>When it was found (UTC).</summary>
    public DateTimeOffset RecordedAt { get; set; }
}

/// <summary>
/// The <c>dead_letters</c> table. Keyed by global position: the event itself stays in <c>events</c>,
/// so a fixed build can read it again and the dead letter can be removed.
/// </summary>
sealed class DeadLettersTable(bool postgres) : IEntityTypeConfiguration<DeadLetterRecord>
{
    public void Configure(EntityTypeBuilder<DeadLetterRecord> builder)
    {
        builder.ToTable("dead_letters");
        builder.HasKey(d => d.GlobalPosition).HasName("pk_dead_letters");
        builder.Property(d => d.GlobalPosition).HasColumnName("global_position").ValueGeneratedNever();
        builder.Property(d => d.StreamId).HasColumnName("stream_id").IsRequired();
        builder.Property(d => d.StreamVersion).HasColumnName("stream_version");
        builder.Property(d => d.EventId).HasColumnName("event_id");
        builder.Property(d => d.TypeName).HasColumnName("type_name").IsRequired();
        builder.Property(d => d.SchemaVersion).HasColumnName("schema_version");
        builder.Property(d => d.Reason).HasColumnName("reason").IsRequired();
        builder.Property(d => d.RecordedAt).HasColumnName("recorded_at");
        if (!postgres)
            builder.Property(d => d.RecordedAt).HasConversion(Converters.UtcTicks);
    }
}
