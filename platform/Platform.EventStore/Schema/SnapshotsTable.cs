using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Platform.EventStore.Schema;

/// <summary>A row of <c>snapshots</c>: the latest snapshot of one stream.</summary>
public sealed class SnapshotRecord
{
    /// <summary>The stream (aggregate id).</summary>
    public string StreamId { get; set; } = "";

    /// <summary>The aggregate type.</summary>
    public string StreamType { get; set; } = "";

    /// <summary>The stream version the state reflects.</summary>
    public long StreamVersion { get; set; }

    /// <summary>The state's schema fingerprint when written; a different current fingerprint means stale.</summary>
    public string SchemaFingerprint { get; set; } = "";

    /// <summary>The state as JSON.</summary>
    public string Data { get; set; } = "";

    /// <summary>When the snapshot was written (UTC).</summary>
    public DateTimeOffset Timestamp { get; set; }
}

/// <summary>The <c>snapshots</c> table: one row per stream, overwritten by newer snapshots.</summary>
sealed class SnapshotsTable(bool postgres) : IEntityTypeConfiguration<SnapshotRecord>
{
    public void Configure(EntityTypeBuilder<SnapshotRecord> builder)
    {
        builder.ToTable("snapshots");
        builder.HasKey(s => s.StreamId).HasName("pk_snapshots");
        builder.Property(s => s.StreamId).HasColumnName("stream_id");
        builder.Property(s => s.StreamType).HasColumnName("stream_type").IsRequired();
        builder.Property(s => s.StreamVersion).HasColumnName("stream_version");
        builder.Property(s => s.SchemaFingerprint).HasColumnName("schema_fingerprint").IsRequired();
        builder.Property(s => s.Data).HasColumnName("data").IsRequired();
        builder.Property(s => s.Timestamp).HasColumnName("timestamp");
        if (postgres)
            builder.Property(s => s.Data).HasColumnType("jsonb");
        else
            builder.Property(s => s.Timestamp).HasConversion(Converters.UtcTicks);
    }
}
