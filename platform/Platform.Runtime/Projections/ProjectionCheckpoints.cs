using System.Data.Common;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Projections;

/// <summary>
/// Reads of <c>subscription_checkpoints</c> and <c>events</c> on a caller's connection and
/// transaction, which the store's own helpers (each on a connection of its own) cannot do.
/// </summary>
static class ProjectionCheckpoints
{
    /// <summary>
    /// A checkpoint, locked until the transaction ends (0 when the row is missing). The live
    /// runner's batches and a rebuild's swap both take this lock first, so a swap never lands
    /// between a batch's read of its checkpoint and its commit. On PostgreSQL that is the row lock
    /// of <c>FOR UPDATE</c>; on SQLite every store transaction is <c>BEGIN IMMEDIATE</c>, so the
    /// database's single write lock already serializes them. With <paramref name="definitionOf"/>,
    /// the same statement also reads the fingerprint recorded for that projection's live table
    /// (<see cref="ProjectionSchema.DefinitionsTable"/>) after the lock: a swap that changed it has
    /// committed by then.
    /// </summary>
    public static async Task<(long Position, string? Definition)> ReadForUpdateAsync(DbConnection connection, DbTransaction transaction,
        StoreProvider provider, string name, string? definitionOf, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // On PostgreSQL the row is created first when missing: FOR UPDATE locks nothing that does
        // not exist, and two instances starting a new projection both applied its first batch (a
        // two-instance CI run counted one event applied twice). The insert makes the second wait.
        // SQLite's BEGIN IMMEDIATE already serializes the batches. The fingerprint is a statement
        // of its own: under READ COMMITTED each statement reads a new snapshot, so it sees a swap
        // that committed while the lock was awaited (a subquery of the locking statement would not).
        command.CommandText = (provider == StoreProvider.Postgres
                ? "INSERT INTO subscription_checkpoints (name, position, updated_at) VALUES (@name, 0, now()) ON CONFLICT (name) DO NOTHING; " +
                  "SELECT position FROM subscription_checkpoints WHERE name = @name FOR UPDATE;"
                : "SELECT position FROM subscription_checkpoints WHERE name = @name;")
            + (definitionOf is null ? "" : $" SELECT fingerprint FROM {ProjectionSchema.DefinitionsTable} WHERE projection = @projection;");
        Add(command, "name", name);
        if (definitionOf is not null)
            Add(command, "projection", definitionOf);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        long position = 0;
        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !reader.IsDBNull(0))
            position = Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
        string? definition = null;
        if (definitionOf is not null && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false)
            && await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !reader.IsDBNull(0))
            definition = reader.GetString(0);
        return (position, definition);
    }

    /// <summary>Runs one statement with named parameters.</summary>
    public static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql,
        CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            Add(command, name, value);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// When the first event after <paramref name="position"/> was appended, or null when there is
    /// none: the age of the oldest event a projection has not applied.
    /// </summary>
    public static async Task<DateTimeOffset?> FirstTimestampAfterAsync(DbConnection connection, long position,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT timestamp FROM events WHERE global_position > @position ORDER BY global_position LIMIT 1";
        Add(command, "position", position);
        // PostgreSQL stores timestamptz, SQLite UTC ticks (see the store's Converters.UtcTicks).
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) switch
        {
            long ticks => new DateTimeOffset(ticks, TimeSpan.Zero),
            DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
            DateTimeOffset time => time,
            _ => null,
        };
    }

    static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
