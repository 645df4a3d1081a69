using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Platform.EventStore.Schema;

/// <summary>A row of <c>processed_messages</c>: the inbox of sagas, reactions and other consumers of messages by id.</summary>
public sealed class ProcessedMessageRecord
{
    /// <summary>The consumer (projection, saga or reaction) that processed the message.</summary>
    public string Consumer { get; set; } = "";

    /// <summary>The message (event) id.</summary>
    public Guid MessageId { get; set; }

    /// <summary>When it was processed (UTC).</summary>
    public DateTimeOffset ProcessedAt { get; set; }
}

/// <summary>
/// The inbox. The primary key (consumer, message_id) is what makes a redelivered message a no-op:
/// the consumer's insert fails or does nothing, in the same transaction as its effects.
/// </summary>
sealed class ProcessedMessagesTable(bool postgres) : IEntityTypeConfiguration<ProcessedMessageRecord>
{
    public void Configure(EntityTypeBuilder<ProcessedMessageRecord> builder)
    {
        builder.ToTable("processed_messages");
        builder.HasKey(m => new { m.Consumer, m.MessageId }).HasName("pk_processed_messages");
        builder.Property(m => m.Consumer).HasColumnName("consumer");
        builder.Property(m => m.MessageId).HasColumnName("message_id");
        builder.Property(m => m.ProcessedAt).HasColumnName("processed_at");
        if (!postgres)
            builder.Property(m => m.ProcessedAt).HasConversion(Converters.UtcTicks);
    }
}
