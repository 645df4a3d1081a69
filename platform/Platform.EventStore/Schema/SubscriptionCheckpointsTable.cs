using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Platform.EventStore.Schema;

/// <summary>A row of <c>subscription_checkpoints</c>: how far one reader (relay, projection) has read.</summary>
public sealed class SubscriptionCheckpointRecord
{
    /// <summary>The reader's name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The global position it has fully processed.</summary>
    public long Position { get; set; }

    /// <summary>When it was last moved (UTC).</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>The <c>subscription_checkpoints</c> table, one row per reader.</summary>
sealed class SubscriptionCheckpointsTable(bool postgres) : IEntityTypeConfiguration<SubscriptionCheckpointRecord>
{
    public void Configure(EntityTypeBuilder<SubscriptionCheckpointRecord> builder)
    {
        builder.ToTable("subscription_checkpoints");
        builder.HasKey(c => c.Name).HasName("pk_subscription_checkpoints");
        builder.Property(c => c.Name).HasColumnName("name");
        builder.Property(c => c.Position).HasColumnName("position");
        builder.Property(c => c.UpdatedAt).HasColumnName("updated_at");
        if (!postgres)
            builder.Property(c => c.UpdatedAt).HasConversion(Converters.UtcTicks);
    }
}
