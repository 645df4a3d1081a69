using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>
/// Creates a projection's table when it is missing, from the EF model of its generated
/// configuration. Read-model tables are derived data (a rebuild recreates them), so they get
/// <c>CREATE ... IF NOT EXISTS</c> from the model instead of versioned migrations; a changed row
/// shape needs a rebuild into a new table, which issue 6's rebuild command will own.
/// </summary>
public static class ProjectionSchema
{
    /// <summary>Creates the projection's table (default or shadow) if it does not exist.</summary>
    /// <param name="store">The event store, whose database holds the read models.</param>
    /// <param name="provider">The database kind.</param>
    /// <param name="projection">The projection.</param>
    /// <param name="tableName">The table; the generated default when null.</param>
    /// <param name="cancellationToken">Cancels the DDL.</param>
    public static async Task EnsureTableAsync(SqlEventStore store, StoreProvider provider, ProjectionBinding projection,
        string? tableName = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var transaction = await store.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var db = ProjectionDbContext.Create(provider, transaction.Connection, projection, tableName))
        {
            var script = db.Database.GenerateCreateScript()
                .Replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", StringComparison.Ordinal)
                .Replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", StringComparison.Ordinal)
                .Replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", StringComparison.Ordinal);
            await using var command = transaction.Connection.CreateCommand();
            command.Transaction = transaction.Transaction;
            command.CommandText = script;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
