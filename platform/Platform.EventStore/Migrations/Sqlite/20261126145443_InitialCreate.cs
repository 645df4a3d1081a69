using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Platform.EventStore.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InitialCreate : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "archived_events",
                columns: table => new
                {
                    global_position = table.Column<long>(type: "INTEGER", nullable: false),
                    stream_id = table.Column<string>(type: "TEXT", nullable: false),
                    stream_type = table.Column<string>(type: "TEXT", nullable: false),
                    stream_version = table.Column<long>(type: "INTEGER", nullable: false),
                    event_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    type_name = table.Column<string>(type: "TEXT", nullable: false),
                    schema_version = table.Column<int>(type: "INTEGER", nullable: false),
                    data = table.Column<string>(type: "TEXT", nullable: false),
                    metadata = table.Column<string>(type: "TEXT", nullable: true),
                    timestamp = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_archived_events", x => x.global_position);
                });

            migrationBuilder.CreateTable(
                name: "dead_letters",
                columns: table => new
                {
                    global_position = table.Column<long>(type: "INTEGER", nullable: false),
                    stream_id = table.Column<string>(type: "TEXT", nullable: false),
                    stream_version = table.Column<long>(type: "INTEGER", nullable: false),
                    event_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    type_name = table.Column<string>(type: "TEXT", nullable: false),
                    schema_version = table.Column<int>(type: "INTEGER", nullable: false),
                    reason = table.Column<string>(type: "TEXT", nullable: false),
                    recorded_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_dead_letters", x => x.global_position);
                });

            migrationBuilder.CreateTable(
                name: "events",
                columns: table => new
                {
                    global_position = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    stream_id = table.Column<string>(type: "TEXT", nullable: false),
                    stream_type = table.Column<string>(type: "TEXT", nullable: false),
                    stream_version = table.Column<long>(type: "INTEGER", nullable: false),
                    event_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    type_name = table.Column<string>(type: "TEXT", nullable: false),
                    schema_version = table.Column<int>(type: "INTEGER", nullable: false),
                    data = table.Column<string>(type: "TEXT", nullable: false),
                    metadata = table.Column<string>(type: "TEXT", nullable: true),
                    timestamp = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_events", x => x.global_position);
                });

            migrationBuilder.CreateTable(
                name: "processed_messages",
                columns: table => new
                {
                    consumer = table.Column<string>(type: "TEXT", nullable: false),
                    message_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    processed_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_processed_messages", x => new { x.consumer, x.message_id });
                });

            migrationBuilder.CreateTable(
                name: "snapshots",
                columns: table => new
                {
                    stream_id = table.Column<string>(type: "TEXT", nullable: false),
                    stream_type = table.Column<string>(type: "TEXT", nullable: false),
                    stream_version = table.Column<long>(type: "INTEGER", nullable: false),
                    schema_fingerprint = table.Column<string>(type: "TEXT", nullable: false),
                    data = table.Column<string>(type: "TEXT", nullable: false),
                    timestamp = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_snapshots", x => x.stream_id);
                });

            migrationBuilder.CreateTable(
                name: "subscription_checkpoints",
                columns: table => new
                {
                    name = table.Column<string>(type: "TEXT", nullable: false),
                    position = table.Column<long>(type: "INTEGER", nullable: false),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_subscription_checkpoints", x => x.name);
                });

            migrationBuilder.CreateIndex(
                name: "ix_archived_events_stream_id_stream_version",
                table: "archived_events",
                columns: new[] { "stream_id", "stream_version" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_events_event_id",
                table: "events",
                column: "event_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_events_stream_id_stream_version",
                table: "events",
                columns: new[] { "stream_id", "stream_version" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_events_type_name_timestamp",
                table: "events",
                columns: new[] { "type_name", "timestamp" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "archived_events");

            migrationBuilder.DropTable(
                name: "dead_letters");

            migrationBuilder.DropTable(
                name: "events");

            migrationBuilder.DropTable(
                name: "processed_messages");

            migrationBuilder.DropTable(
                name: "snapshots");

            migrationBuilder.DropTable(
                name: "subscription_checkpoints");
        }
    }
}
