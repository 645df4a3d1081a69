using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Platform.EventStore.Schema;

/// <summary>A row of <c>consumer_streams</c>: how far an ordered consumer has processed one stream.</summary>
public sealed class ConsumerStreamRecord
{
    /// <summary>The consumer's stable name.</summary>
    public string Consumer { get; set; } = "";

    /// <summary>The stream.</summary>
    public string StreamId { get; set; } = "";

    /// <summary>The version of the last event of the stream the consumer processed.</summary>
    public long StreamVersion { get; set; }

    /// <summary>When it was processed (UTC).</summary>
    public DateTimeOffset ProcessedAt { get; set; }
}

/// <summary>
/// The inbox of ordered event consumers: one row per consumer and stream. A consumer processes a
/// stream's events in version order, so the version of the last one it processed says which events
/// it has had (everything up to it) and which are redeliveries, and the row stays one per stream
/// however long the stream grows.
/// </summary>
sealed class ConsumerStreamsTable(bool postgres) : IEntityTypeConfiguration<ConsumerStreamRecord>
{
    public void Configure(EntityTypeBuilder<ConsumerStreamRecord> builder)
    {
        builder.ToTable("consumer_streams");
        builder.HasKey(s => new { s.Consumer, s.StreamId }).HasName("pk_consumer_streams");
        builder.Property(s => s.Consumer).HasColumnName("consumer");
        builder.Property(s => s.StreamId).HasColumnName("stream_id");
        builder.Property(s => s.StreamVersion).HasColumnName("stream_version");
        builder.Property(s => s.ProcessedAt).HasColumnName("processed_at");
        if (!postgres)
            builder.Property(s => s.ProcessedAt).HasConversion(Converters.UtcTicks);
    }
}
