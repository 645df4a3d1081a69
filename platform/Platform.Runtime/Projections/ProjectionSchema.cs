using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>
/// Creates a projection's table when it is missing, from the EF model of its generated
/// configuration. Read-model tables are derived data (a rebuild recreates them), so they get
/// <c>CREATE ... IF NOT EXISTS</c> from the model instead of versioned migrations. A changed
/// declaration (its generated <c>DefinitionFingerprint</c>) is met by a rebuild into a new table:
/// <c>projection_definitions</c> records which declaration built each live table.
/// </summary>
public static class ProjectionSchema
{
    /// <summary>The table that records, per projection, the fingerprint of the declaration that built its live table.</summary>
    public const string DefinitionsTable = "projection_definitions";

    const string DefinitionsDdl =
        "CREATE TABLE IF NOT EXISTS " + DefinitionsTable + " (projection TEXT NOT NULL PRIMARY KEY, fingerprint TEXT NOT NULL, updated_at TEXT NOT NULL);\n";

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
        // Two instances creating the same table at once collide in PostgreSQL's catalog despite IF
        // NOT EXISTS (23505 on pg_type): this DDL takes the lock of the runtime's other tables (Sql).
        if (provider == StoreProvider.Postgres)
            await ProjectionCheckpoints.ExecuteAsync(transaction.Connection, transaction.Transaction, "SELECT pg_advisory_xact_lock(7234001)",
                cancellationToken).ConfigureAwait(false);
        await using (var db = ProjectionDbContext.Create(provider, transaction.Connection, projection, tableName))
        {
            var script = DefinitionsDdl + db.Database.GenerateCreateScript()
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

    /// <summary>The fingerprint of the declaration that built <paramref name="projection"/>'s live table, or null when none is recorded.</summary>
    internal static async Task<string?> ReadDefinitionAsync(DbConnection connection, DbTransaction? transaction, string projection,
        CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction, $"SELECT fingerprint FROM {DefinitionsTable} WHERE projection = @projection");
        Sql.Add(command, "projection", projection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>
    /// Records <paramref name="fingerprint"/> for <paramref name="projection"/>: always when
    /// <paramref name="replace"/> (a rebuild's swap), else only when none is recorded (a new table,
    /// or one that predates fingerprints, is taken as built by this declaration).
    /// </summary>
    internal static async Task SaveDefinitionAsync(DbConnection connection, DbTransaction? transaction, string projection, string fingerprint,
        bool replace, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            $"INSERT INTO {DefinitionsTable} (projection, fingerprint, updated_at) VALUES (@projection, @fingerprint, @at) ON CONFLICT (projection) DO " +
            (replace ? "UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at" : "NOTHING"));
        Sql.Add(command, "projection", projection);
        Sql.Add(command, "fingerprint", fingerprint);
        Sql.Add(command, "at", Sql.Time(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
