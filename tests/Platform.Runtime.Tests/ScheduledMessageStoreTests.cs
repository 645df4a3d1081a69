using Platform.Runtime.Configuration;
using Platform.Runtime.Scheduling;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// <c>scheduled_messages</c> across a release that added a column: a table an earlier release made
/// gets <c>key_version</c> and keeps its rows, and a cancel by version (<c>unless:</c> on a delayed
/// reaction) deletes what earlier events scheduled, and rows from before the column, but not what a
/// later event scheduled.
/// </summary>
public sealed class ScheduledMessageStoreTests
{
    // The table as the release before key_version created it.
    const string TableBeforeKeyVersion = """
        CREATE TABLE scheduled_messages (
            id text NOT NULL PRIMARY KEY, owner text NOT NULL, correlation_id text NULL, token_id text NULL, kind text NOT NULL,
            destination text NULL, message_type text NOT NULL, payload text NOT NULL, headers text NOT NULL, due_at text NOT NULL,
            created_at text NOT NULL, attempts integer NOT NULL, last_error text NULL)
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task an_earlier_table_gets_the_key_version_and_a_cancel_reaches_only_what_came_before(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "scheduled");
        var key = Guid.NewGuid();
        var due = DateTimeOffset.UtcNow.AddHours(1);
        var before = Row(key, due, keyVersion: null);
        await database.ExecuteAsync(TableBeforeKeyVersion);
        await database.ExecuteAsync($"""
            INSERT INTO scheduled_messages (id, owner, correlation_id, token_id, kind, destination, message_type, payload, headers, due_at, created_at, attempts, last_error)
            VALUES ('{before.Id:D}', 'reaction:RemindHolder', NULL, '{key:D}', 'Send', 'queue:holds', 'RemindHold', '{"{}"}', '{"{}"}', '{Sql.Time(due)}', '{Sql.Time(due)}', 0, NULL)
            """);

        var provider = store == Store.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite;
        // Two stores, as two instances of the runtime starting at once; the second finds the column there.
        await Task.WhenAll(new ScheduledMessageStore(provider, database.ConnectionString).EnsureSchemaAsync(),
            new ScheduledMessageStore(provider, database.ConnectionString).EnsureSchemaAsync());
        await new ScheduledMessageStore(provider, database.ConnectionString).EnsureSchemaAsync();

        var first = Row(key, due, keyVersion: 1);
        var later = Row(key, due, keyVersion: 3);
        await InTransactionAsync(database, (connection, transaction) => ScheduledMessageStore.InsertAsync(connection, transaction, [first, later], default));
        Assert.Equal([null, 1L, 3L], (await KeyVersionsAsync(database, key)).Order());

        // The event at version 2, handled after the one at 3 scheduled: the row from before the
        // column and the one version 1 scheduled go, version 3's stays.
        var deleted = 0;
        await InTransactionAsync(database, async (connection, transaction) =>
            deleted = await ScheduledMessageStore.CancelBeforeAsync(connection, transaction, key, 2, default));
        Assert.Equal(2, deleted);
        Assert.Equal([3L], await KeyVersionsAsync(database, key));

        await InTransactionAsync(database, async (connection, transaction) =>
            deleted = await ScheduledMessageStore.CancelBeforeAsync(connection, transaction, key, 4, default));
        Assert.Equal(1, deleted);
        Assert.Empty(await KeyVersionsAsync(database, key));
    }

    static ScheduledMessageRow Row(Guid key, DateTimeOffset due, long? keyVersion) =>
        new(Guid.NewGuid(), "reaction:RemindHolder", null, key, DeliveryKind.Send, "queue:holds", "RemindHold", "{}", "{}", due, DateTimeOffset.UtcNow, 0, null,
            keyVersion);

    static async Task InTransactionAsync(TestDatabase database, Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task> work)
    {
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await work(connection, transaction);
        await transaction.CommitAsync();
    }

    static async Task<List<long?>> KeyVersionsAsync(TestDatabase database, Guid key)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT key_version FROM scheduled_messages WHERE token_id = '{key:D}'";
        var versions = new List<long?>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            versions.Add(reader.IsDBNull(0) ? null : reader.GetInt64(0));
        return versions;
    }
}
