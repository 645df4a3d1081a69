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

            migrationBuilder.Sql(ConsumerStreamsCarryOver.Sql);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "consumer_streams");
        }
    }
}
