using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Platform.EventStore.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ConsumerStreams : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "consumer_streams",
                columns: table => new
                {
                    consumer = table.Column<string>(type: "text", nullable: false),
                    stream_id = table.Column<string>(type: "text", nullable: false),
                    stream_version = table.Column<long>(type: "bigint", nullable: false),
                    processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_consumer_streams", x => new { x.consumer, x.stream_id });
                });

            // Ordered consumers kept a processed_messages row per event before; they processed each
            // stream in version order, so the last version they processed carries over.
            migrationBuilder.Sql("""
                INSERT INTO consumer_streams (consumer, stream_id, stream_version, processed_at)
                SELECT p.consumer, e.stream_id, max(e.stream_version), max(p.processed_at)
                FROM processed_messages p
                JOIN (SELECT event_id, stream_id, stream_version FROM events
                      UNION ALL SELECT event_id, stream_id, stream_version FROM archived_events) e ON e.event_id = p.message_id
                GROUP BY p.consumer, e.stream_id
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "consumer_streams");
        }
    }
}
