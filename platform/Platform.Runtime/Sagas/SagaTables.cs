using System.Data.Common;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Runtime.Configuration;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>One saga row, as stored.</summary>
/// <param name="SagaName">The saga (state machine) name, e.g. <c>OrderFulfilment</c>.</param>
/// <param name="CorrelationId">The instance.</param>
/// <param name="CurrentState">The state's name.</param>
/// <param name="Version">Incremented on every save.</param>
/// <param name="Data">The saga's state class as JSON.</param>
/// <param name="CreatedAt">When it started.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="ResolvedAt">When an operator resolved it by hand, else null.</param>
/// <param name="Resolution">The operator's note.</param>
public sealed record SagaInstanceRow(string SagaName, Guid CorrelationId, string CurrentState, int Version, string Data,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ResolvedAt, string? Resolution);

/// <summary>One transition in a saga's history.</summary>
/// <param name="SagaName">The saga's name.</param>
/// <param name="CorrelationId">The instance.</param>
/// <param name="Version">The version it produced.</param>
/// <param name="FromState">The state before (null when the saga started).</param>
/// <param name="ToState">The state after.</param>
/// <param name="MessageType">The message that caused it (or <c>operator:retry</c>, <c>operator:resolve</c>).</param>
/// <param name="MessageId">That message's id.</param>
/// <param name="Sent">The messages the step sent or published, as JSON (what <c>retry</c> sends again).</param>
/// <param name="At">When.</param>
public sealed record SagaHistoryRow(string SagaName, Guid CorrelationId, int Version, string? FromState, string ToState, string MessageType,
    string? MessageId, string Sent, DateTimeOffset At);

/// <summary>
/// A message a saga step sent, or a timeout it scheduled, kept in its history so an operator's retry
/// can send it again and schedule the timeout again.
/// </summary>
/// <param name="Kind">Send or publish.</param>
/// <param name="Destination">The queue, for a send.</param>
/// <param name="MessageType">The CLR type, assembly-qualified.</param>
/// <param name="Payload">The message as JSON.</param>
/// <param name="Headers">The headers as JSON.</param>
/// <param name="TokenId">A timeout's token (null for a message sent at once).</param>
/// <param name="DelayMilliseconds">How long after the step the timeout was due.</param>
/// <param name="TokenProperty">The saga's property that held the token (e.g. <c>PaymentCompensationTimeoutTokenId</c>), which a retry sets to the new timeout's token.</param>
public sealed record SentMessage(DeliveryKind Kind, string? Destination, string MessageType, string Payload, string Headers,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? TokenId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? DelayMilliseconds = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TokenProperty = null);

/// <summary>The properties of a saga state class that can hold a schedule's token.</summary>
static class SagaTokens<TSaga>
{
    static readonly System.Reflection.PropertyInfo[] Properties = typeof(TSaga).GetProperties()
        .Where(p => p.PropertyType == typeof(Guid?) && p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0).ToArray();

    /// <summary>The name of the property of <paramref name="saga"/> that holds <paramref name="token"/>, if one does.</summary>
    public static string? PropertyHolding(TSaga saga, Guid token) =>
        Properties.FirstOrDefault(p => (Guid?)p.GetValue(saga) == token)?.Name;
}

/// <summary>
/// The saga tables in the event store's database: <c>saga_instances</c> (one row per saga, the state
/// class as JSON beside its state name and version) and <c>saga_history</c> (every step). Created by
/// the runtime with <c>CREATE TABLE IF NOT EXISTS</c> in portable SQL, like the read-model and
/// dead-letter tables, so one definition serves every generated saga and the store's migrations stay
/// the store's. Rows are read and written on the caller's connection and transaction.
/// </summary>
public static class SagaTables
{
    internal const string InstanceColumns = "saga_name, correlation_id, current_state, version, data, created_at, updated_at, resolved_at, resolution";
    internal const string HistoryColumns = "saga_name, correlation_id, version, from_state, to_state, message_type, message_id, sent, at";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The DDL of both tables.</summary>
    public const string Ddl =
        """
        CREATE TABLE IF NOT EXISTS saga_instances (
            saga_name text NOT NULL,
            correlation_id text NOT NULL,
            current_state text NOT NULL,
            version integer NOT NULL,
            data text NOT NULL,
            created_at text NOT NULL,
            updated_at text NOT NULL,
            resolved_at text NULL,
            resolution text NULL,
            PRIMARY KEY (saga_name, correlation_id));
        CREATE INDEX IF NOT EXISTS ix_saga_instances_state ON saga_instances (current_state);
        CREATE INDEX IF NOT EXISTS ix_saga_instances_correlation ON saga_instances (correlation_id);
        CREATE TABLE IF NOT EXISTS saga_history (
            id text NOT NULL PRIMARY KEY,
            saga_name text NOT NULL,
            correlation_id text NOT NULL,
            version integer NOT NULL,
            from_state text NULL,
            to_state text NOT NULL,
            message_type text NOT NULL,
            message_id text NULL,
            sent text NOT NULL,
            at text NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_saga_history_saga ON saga_history (saga_name, correlation_id, version);
        """;

    internal static async Task<SagaInstanceRow?> LoadAsync(DbConnection connection, DbTransaction? transaction, string sagaName, Guid correlationId,
        CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            $"SELECT {InstanceColumns} FROM saga_instances WHERE saga_name = @name AND correlation_id = @id");
        Sql.Add(command, "name", sagaName);
        Sql.Add(command, "id", correlationId.ToString("D"));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadInstance(reader) : null;
    }

    internal static SagaInstanceRow ReadInstance(DbDataReader reader) => new(
        reader.GetString(0), Guid.Parse(reader.GetString(1)), reader.GetString(2), Sql.Int(reader, 3), reader.GetString(4),
        Sql.ParseTime(reader.GetString(5)), Sql.ParseTime(reader.GetString(6)),
        Sql.Text(reader, 7) is { } resolved ? Sql.ParseTime(resolved) : null, Sql.Text(reader, 8));

    internal static SagaHistoryRow ReadHistory(DbDataReader reader) => new(
        reader.GetString(0), Guid.Parse(reader.GetString(1)), Sql.Int(reader, 2), Sql.Text(reader, 3), reader.GetString(4), reader.GetString(5),
        Sql.Text(reader, 6), reader.GetString(7), Sql.ParseTime(reader.GetString(8)));

    internal static async Task InsertAsync(DbConnection connection, DbTransaction transaction, string sagaName, Guid correlationId, string state,
        int version, string data, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            $"INSERT INTO saga_instances ({InstanceColumns}) VALUES (@name, @id, @state, @version, @data, @now, @now, NULL, NULL)");
        Sql.Add(command, "name", sagaName);
        Sql.Add(command, "id", correlationId.ToString("D"));
        Sql.Add(command, "state", state);
        Sql.Add(command, "version", version);
        Sql.Add(command, "data", data);
        Sql.Add(command, "now", Sql.Time(now));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Optimistic update: false when the row is no longer at <paramref name="expectedVersion"/>.</summary>
    internal static async Task<bool> UpdateAsync(DbConnection connection, DbTransaction transaction, string sagaName, Guid correlationId,
        int expectedVersion, string state, string? data, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            "UPDATE saga_instances SET current_state = @state, version = @next, updated_at = @now" + (data is null ? "" : ", data = @data") +
            " WHERE saga_name = @name AND correlation_id = @id AND version = @expected");
        Sql.Add(command, "state", state);
        Sql.Add(command, "next", expectedVersion + 1);
        Sql.Add(command, "now", Sql.Time(now));
        if (data is not null)
            Sql.Add(command, "data", data);
        Sql.Add(command, "name", sagaName);
        Sql.Add(command, "id", correlationId.ToString("D"));
        Sql.Add(command, "expected", expectedVersion);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    internal static async Task<bool> DeleteAsync(DbConnection connection, DbTransaction transaction, string sagaName, Guid correlationId,
        int expectedVersion, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            "DELETE FROM saga_instances WHERE saga_name = @name AND correlation_id = @id AND version = @expected");
        Sql.Add(command, "name", sagaName);
        Sql.Add(command, "id", correlationId.ToString("D"));
        Sql.Add(command, "expected", expectedVersion);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    internal static async Task AddHistoryAsync(DbConnection connection, DbTransaction transaction, SagaHistoryRow row, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction,
            $"INSERT INTO saga_history (id, {HistoryColumns}) VALUES (@hid, @name, @id, @version, @from, @to, @type, @message, @sent, @at)");
        Sql.Add(command, "hid", Guid.CreateVersion7().ToString("D"));
        Sql.Add(command, "name", row.SagaName);
        Sql.Add(command, "id", row.CorrelationId.ToString("D"));
        Sql.Add(command, "version", row.Version);
        Sql.Add(command, "from", row.FromState);
        Sql.Add(command, "to", row.ToState);
        Sql.Add(command, "type", row.MessageType);
        Sql.Add(command, "message", row.MessageId);
        Sql.Add(command, "sent", row.Sent);
        Sql.Add(command, "at", Sql.Time(row.At));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static Task CreateAsync(StoreProvider provider, string connectionString, CancellationToken cancellationToken) =>
        Sql.ExecuteDdlAsync(provider, connectionString, Ddl, cancellationToken);
}

/// <summary>Reads and writes a saga state class's <c>CurrentState</c> (also a column), through delegates made once.</summary>
/// <typeparam name="TSaga">The state class.</typeparam>
static class SagaStateAccess<TSaga> where TSaga : class
{
    static readonly PropertyInfo? State = typeof(TSaga).GetProperty("CurrentState", BindingFlags.Public | BindingFlags.Instance) is { PropertyType: var t } p
        && t == typeof(string) && p.CanWrite ? p : null;
    static readonly Func<TSaga, string?> Getter = State?.GetGetMethod()!.CreateDelegate<Func<TSaga, string?>>() ?? (_ => "");
    static readonly Action<TSaga, string> Setter = State?.GetSetMethod()!.CreateDelegate<Action<TSaga, string>>() ?? ((_, _) => { });

    public static string GetState(TSaga saga) => Getter(saga) ?? "";

    public static void SetState(TSaga saga, string state) => Setter(saga, state);
}
