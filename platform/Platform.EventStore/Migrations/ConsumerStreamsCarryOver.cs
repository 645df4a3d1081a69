namespace Platform.EventStore.Migrations;

/// <summary>What the <c>ConsumerStreams</c> migration of both databases runs after creating the table.</summary>
static class ConsumerStreamsCarryOver
{
    /// <summary>
    /// Ordered consumers kept a <c>processed_messages</c> row per event before; they processed each
    /// stream in version order, so the last version they processed carries over (archived events
    /// included). The same text on PostgreSQL and SQLite. It ends with its own semicolon: EF Core
    /// writes custom SQL into a migration script as it is, and the script's next statement follows.
    /// </summary>
    public const string Sql = """
        INSERT INTO consumer_streams (consumer, stream_id, stream_version, processed_at)
        SELECT p.consumer, e.stream_id, max(e.stream_version), max(p.processed_at)
        FROM processed_messages p
        JOIN (SELECT event_id, stream_id, stream_version FROM events
              UNION ALL SELECT event_id, stream_id, stream_version FROM archived_events) e ON e.event_id = p.message_id
        GROUP BY p.consumer, e.stream_id;
        """;
}
