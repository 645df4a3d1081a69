using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Platform.EventStore.Schema;

/// <summary>A row of <c>archived_events</c>: an event moved out of the hot table, with its original position.</summary>
public sealed class ArchivedEventRecord : StoredEventRow;

/// <summary>
/// The archive. Same columns as <c>events</c>, and the original global position is kept so a
/// restore puts each event back exactly where it was.
/// </summary>
sealed class ArchivedEventsTable(bool postgres) : IEntityTypeConfiguration<ArchivedEventRecord>
{
    public void Configure(EntityTypeBuilder<ArchivedEventRecord> builder)
    {
        builder.ToTable("archived_events");
        StoredEventColumns.Configure(builder, postgres, "archived_events");
        builder.Property(e => e.GlobalPosition).ValueGeneratedNever();
    }
}
