using System.Text.Json;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>One saga with its history and the messages still waiting to leave (timeouts, undelivered outbox).</summary>
/// <param name="Instance">The saga row.</param>
/// <param name="History">Every step, oldest first.</param>
/// <param name="Waiting">Messages in <c>scheduled_messages</c> for this saga.</param>
public sealed record SagaDetails(SagaInstanceRow Instance, IReadOnlyList<SagaHistoryRow> History, IReadOnlyList<ScheduledMessageRow> Waiting);

/// <summary>
/// What operators do with sagas, against the store's database alone (the CLI has no bus):
/// list, show, retry and resolve (<c>platform sagas ...</c>). A retry writes the messages to send
/// into <c>scheduled_messages</c>, which the running runtime's scheduler delivers.
/// </summary>
public sealed class SagaOperations
{
    readonly StoreProvider _provider;
    readonly string _connectionString;
    readonly ScheduledMessageStore _scheduled;

    /// <summary>Opens the operations on a runtime's store.</summary>
    /// <param name="provider">The database kind.</param>
    /// <param name="connectionString">The store's connection string.</param>
    public SagaOperations(StoreProvider provider, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _provider = provider;
        _connectionString = connectionString;
        _scheduled = new ScheduledMessageStore(provider, connectionString);
    }

    bool _schemaReady;

    async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_schemaReady)
            return;
        await _scheduled.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await SagaTables.CreateAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        _schemaReady = true;
    }

    /// <summary>
    /// Sagas, oldest change first; only those in <paramref name="state"/> and of <paramref name="sagaName"/>
    /// when given; resolved ones only with <paramref name="includeResolved"/>.
    /// </summary>
    /// <param name="state">A state name, or null for all.</param>
    /// <param name="includeResolved">Also list sagas an operator resolved.</param>
    /// <param name="sagaName">A saga's name (e.g. <c>OrderFulfilment</c>), or null for every kind.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<SagaInstanceRow>> ListAsync(string? state = null, bool includeResolved = false, string? sagaName = null,
        CancellationToken cancellationToken = default)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        var where = new List<string>();
        if (state is not null)
            where.Add("current_state = @state");
        if (sagaName is not null)
            where.Add("saga_name = @saga");
        if (!includeResolved)
            where.Add("resolved_at IS NULL");
        await using var command = Sql.Command(connection, null,
            $"SELECT {SagaTables.InstanceColumns} FROM saga_instances" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") +
            " ORDER BY updated_at, correlation_id");
        if (state is not null)
            Sql.Add(command, "state", state);
        if (sagaName is not null)
            Sql.Add(command, "saga", sagaName);
        var rows = new List<SagaInstanceRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            rows.Add(SagaTables.ReadInstance(reader));
        return rows;
    }

    /// <summary>Unresolved sagas by saga and state, reading only (none when the saga table does not exist yet).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<(string Saga, string State, long Count)>> CountUnresolvedAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        if (!await Sql.TableExistsAsync(connection, _provider, "saga_instances", cancellationToken).ConfigureAwait(false))
            return [];
        await using var command = Sql.Command(connection, null,
            "SELECT saga_name, current_state, count(*) FROM saga_instances WHERE resolved_at IS NULL GROUP BY saga_name, current_state ORDER BY saga_name, current_state");
        var counts = new List<(string, string, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            counts.Add((reader.GetString(0), reader.GetString(1), Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)));
        return counts;
    }

    /// <summary>
    /// What a restore or a hand edit can leave inconsistent in the saga tables, reading only (none
    /// when they do not exist): a saga whose row and history disagree on its version
    /// (<c>saga-version</c>), and timeouts waiting for a saga that is gone or was resolved
    /// (<c>saga-timeout-orphan</c>). At most <see cref="SqlEventStore.ProblemsPerCheck"/> per check;
    /// <c>platform store verify</c> reports them with the event store's.
    /// </summary>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<IReadOnlyList<StoreProblem>> VerifyAsync(CancellationToken cancellationToken = default)
    {
        var problems = new List<StoreProblem>();
        await using var connection = await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        if (!await Sql.TableExistsAsync(connection, _provider, "saga_instances", cancellationToken).ConfigureAwait(false))
            return problems;
        await using (var command = Sql.Command(connection, null, $"""
            SELECT i.saga_name, i.correlation_id, i.version, COALESCE(h.version, 0) FROM saga_instances i
            LEFT JOIN (SELECT saga_name, correlation_id, MAX(version) AS version FROM saga_history GROUP BY saga_name, correlation_id) h
                ON h.saga_name = i.saga_name AND h.correlation_id = i.correlation_id
            WHERE COALESCE(h.version, 0) <> i.version ORDER BY i.saga_name, i.correlation_id LIMIT {SqlEventStore.ProblemsPerCheck}
            """))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                problems.Add(new StoreProblem("saga-version", reader.GetString(0) + " " + reader.GetString(1), string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"the saga is at version {Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)} but its history ends at version {Convert.ToInt64(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture)}: its row was restored or edited apart from its history. 'platform sagas show' shows both; an operator's retry works from the history.")));
        }
        if (!await Sql.TableExistsAsync(connection, _provider, "scheduled_messages", cancellationToken).ConfigureAwait(false))
            return problems;
        await using (var command = Sql.Command(connection, null, $"""
            SELECT s.owner, s.correlation_id, COUNT(*) FROM scheduled_messages s
            WHERE s.token_id IS NOT NULL AND s.owner LIKE 'saga:%' AND NOT EXISTS (
                SELECT 1 FROM saga_instances i WHERE 'saga:' || i.saga_name = s.owner AND i.correlation_id = s.correlation_id AND i.resolved_at IS NULL)
            GROUP BY s.owner, s.correlation_id ORDER BY s.owner, s.correlation_id LIMIT {SqlEventStore.ProblemsPerCheck}
            """))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (owner, id) = (reader.GetString(0), Sql.Text(reader, 1) ?? "");
                problems.Add(new StoreProblem("saga-timeout-orphan", owner["saga:".Length..] + " " + id, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture)} timeout(s) wait for a saga that is not there or was resolved: when due they reach no saga, or one an operator settled. Delete them: DELETE FROM scheduled_messages WHERE owner = '{owner}' AND correlation_id = '{id}' AND token_id IS NOT NULL;")));
            }
        }
        return problems;
    }

    /// <summary>
    /// With a build's domain: every unresolved saga row read as that build's runtime reads it, its
    /// data into the generated state class (<c>saga-data</c>) and its state among the state
    /// machine's (<c>saga-state</c>). A restore of another build's backup, or a hand edit, shows here
    /// instead of as a saga whose next message fails. At most <see cref="SqlEventStore.ProblemsPerCheck"/>
    /// per check; none when the tables do not exist.
    /// </summary>
    /// <param name="catalog">The build's domains: their sagas' state machines and state classes.</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<IReadOnlyList<StoreProblem>> VerifyDataAsync(Domains.DomainCatalog catalog, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var problems = new List<StoreProblem>();
        await using var connection = await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        if (!await Sql.TableExistsAsync(connection, _provider, "saga_instances", cancellationToken).ConfigureAwait(false))
            return problems;
        int unreadable = 0, unknown = 0;
        foreach (var (stateMachine, stateClass) in catalog.Sagas)
        {
            var name = SagaRuntime.NameOf(stateMachine);
            var states = (Activator.CreateInstance(stateMachine) as MassTransit.StateMachine)?.States.Select(state => state.Name).ToHashSet(StringComparer.Ordinal);
            await using var command = Sql.Command(connection, null,
                "SELECT correlation_id, current_state, data FROM saga_instances WHERE saga_name = @name AND resolved_at IS NULL ORDER BY correlation_id");
            Sql.Add(command, "name", name);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (id, state, data) = (Sql.Text(reader, 0) ?? "", reader.GetString(1), reader.GetString(2));
                if (states is not null && !states.Contains(state) && unknown++ < SqlEventStore.ProblemsPerCheck)
                    problems.Add(new StoreProblem("saga-state", name + " " + id,
                        $"state '{state}' is not a state of this build's {stateMachine.Name}: no message moves the saga. Run the build that has it, or settle the saga by hand and 'platform sagas resolve' it."));
                if (Unreadable(data, stateClass) is { } why && unreadable++ < SqlEventStore.ProblemsPerCheck)
                    problems.Add(new StoreProblem("saga-data", name + " " + id,
                        $"its data does not read as this build's {stateClass.Name} ({why}): the saga's next message would fail. Restore the row from the build that wrote it, or settle the saga by hand and 'platform sagas resolve' it."));
            }
        }
        return problems;
    }

    // Why the row's data does not read as the state class, as the saga repository reads it; null when it does.
    static string? Unreadable(string data, Type stateClass)
    {
        try
        {
            return JsonSerializer.Deserialize(data, stateClass, SagaTables.Json) is null ? "the data is null" : null;
        }
        catch (JsonException exception)
        {
            return exception.Message;
        }
    }

    /// <summary>Counts sagas by state (resolved ones included).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyDictionary<string, long>> CountByStateAsync(CancellationToken cancellationToken = default)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        await using var command = Sql.Command(connection, null, "SELECT current_state, count(*) FROM saga_instances GROUP BY current_state");
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            counts[reader.GetString(0)] = Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture);
        return counts;
    }

    /// <summary>Every saga with this correlation id (one per saga kind), with history and waiting messages.</summary>
    /// <param name="correlationId">The saga instance id.</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<IReadOnlyList<SagaDetails>> GetAsync(Guid correlationId, CancellationToken cancellationToken = default)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await Sql.OpenAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        var instances = new List<SagaInstanceRow>();
        await using (var command = Sql.Command(connection, null,
            $"SELECT {SagaTables.InstanceColumns} FROM saga_instances WHERE correlation_id = @id ORDER BY saga_name"))
        {
            Sql.Add(command, "id", correlationId.ToString("D"));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                instances.Add(SagaTables.ReadInstance(reader));
        }
        var details = new List<SagaDetails>();
        foreach (var instance in instances)
        {
            var history = new List<SagaHistoryRow>();
            await using (var command = Sql.Command(connection, null,
                $"SELECT {SagaTables.HistoryColumns} FROM saga_history WHERE saga_name = @name AND correlation_id = @id ORDER BY version, at"))
            {
                Sql.Add(command, "name", instance.SagaName);
                Sql.Add(command, "id", correlationId.ToString("D"));
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    history.Add(SagaTables.ReadHistory(reader));
            }
            var waiting = await _scheduled.ListAsync("saga:" + instance.SagaName, correlationId.ToString("D"), cancellationToken).ConfigureAwait(false);
            details.Add(new SagaDetails(instance, history, waiting));
        }
        return details;
    }

    /// <summary>
    /// Runs the step that led a saga into its current state again: the saga goes back to the state
    /// it was in before (e.g. from <c>CompensationFailed</c> back to <c>CompensatingPayment</c>), the
    /// messages it sent when it entered that state are sent again (new message ids, so receivers act
    /// on them again), and the timeouts it scheduled then are scheduled again, as long from now, with
    /// new tokens written into the saga's token properties (so a compensation's timeout bounds the
    /// retried compensation too); all through <c>scheduled_messages</c> and the running runtime. One
    /// transaction, with the saga's version checked, so a retry never races a message in flight.
    /// </summary>
    /// <param name="correlationId">The saga instance.</param>
    /// <param name="sagaName">Which saga, when several kinds share the id; null when there is one.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The state the saga went back to, how many messages were queued and how many timeouts scheduled.</returns>
    /// <exception cref="InvalidOperationException">No such saga, resolved, or no earlier step to run again.</exception>
    public async Task<(string State, int Messages, int Timeouts)> RetryAsync(Guid correlationId, string? sagaName = null, CancellationToken cancellationToken = default)
    {
        var saga = await SingleAsync(correlationId, sagaName, cancellationToken).ConfigureAwait(false);
        var instance = saga.Instance;
        if (instance.ResolvedAt is not null)
            throw new InvalidOperationException($"Saga {instance.SagaName} {correlationId} was resolved by an operator; it is not retried.");
        var last = saga.History.LastOrDefault(h => h.ToState == instance.CurrentState)
            ?? throw new InvalidOperationException($"Saga {instance.SagaName} {correlationId} has no history entry into {instance.CurrentState}.");
        var previous = last.FromState
            ?? throw new InvalidOperationException($"Saga {instance.SagaName} {correlationId} is in its first state; there is no earlier step to run again.");
        var entered = saga.History.LastOrDefault(h => h.ToState == previous && h.Version < last.Version)
            ?? throw new InvalidOperationException($"Saga {instance.SagaName} {correlationId}: no history entry into {previous}, so nothing to send again.");
        var sent = JsonSerializer.Deserialize<SentMessage[]>(entered.Sent, SagaTables.Json) ?? [];
        var now = DateTimeOffset.UtcNow;
        var owner = "saga:" + instance.SagaName;
        var messages = sent.Where(m => m.TokenId is null).Select(m => new ScheduledMessageRow(Guid.CreateVersion7(), owner, correlationId.ToString("D"), null,
            m.Kind, m.Destination, m.MessageType, m.Payload, m.Headers, now, now, 0, null)).ToList();
        var (data, timeouts) = Rearm(instance, sent, owner, now);
        messages.AddRange(timeouts);
        await using var write = await Sql.OpenWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (!await SagaTables.UpdateAsync(connection, transaction, instance.SagaName, correlationId, instance.Version, previous, data, now, cancellationToken)
                .ConfigureAwait(false))
            throw new InvalidOperationException($"Saga {instance.SagaName} {correlationId} changed while retrying; look at it again.");
        await SagaTables.AddHistoryAsync(connection, transaction, new SagaHistoryRow(instance.SagaName, correlationId, instance.Version + 1,
            instance.CurrentState, previous, "operator:retry", null, JsonSerializer.Serialize(sent, SagaTables.Json), now), cancellationToken).ConfigureAwait(false);
        await ScheduledMessageStore.InsertAsync(connection, transaction, messages, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (previous, messages.Count - timeouts.Count, timeouts.Count);
    }

    /// <summary>
    /// Overwrites a saga's personal data (the generated machine's <c>PersonalFields</c>) in its row and
    /// in what its history recorded as sent (a command filled from such a field by name carries it
    /// under that name), for an erasure of the stream that started it. The row's version moves on, so a
    /// step running at the same time saves over nothing: it conflicts and runs again on the erased
    /// data. Returns whether the saga was there, and how many history rows changed.
    /// </summary>
    /// <param name="sagaName">The saga's name, e.g. <c>OrderFulfilment</c>.</param>
    /// <param name="correlationId">The instance.</param>
    /// <param name="fields">Its personal fields, by property, and their erased JSON.</param>
    /// <param name="cancellationToken">Cancels the erasure before it commits.</param>
    /// <param name="messageFields">
    /// The fields of the commands it sends that carry personal data whatever they are called (a
    /// <c>with:</c> that copies a personal field under another name), by the command's full type name
    /// (<see cref="Domains.DomainCatalog.PersonalMessageFields"/>). Also erased in the messages the
    /// saga's outbox still holds.
    /// </param>
    public async Task<(bool Found, int HistoryRows)> ErasePersonalDataAsync(string sagaName, Guid correlationId, IReadOnlyList<PersonalField> fields,
        CancellationToken cancellationToken = default, IReadOnlyDictionary<string, IReadOnlyList<PersonalField>>? messageFields = null)
    {
        // A message carries a data field under the field's own name when it was filled by name, and
        // under the command's name for it when filled by with:.
        string? Erase(string payload, string messageType) =>
            ScheduledMessageStore.EraseMessage(payload, messageType, fields, JsonName, messageFields, SagaTables.Json);
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            await using var write = await Sql.OpenWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
            var connection = write.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var instance = await SagaTables.LoadAsync(connection, transaction, sagaName, correlationId, cancellationToken).ConfigureAwait(false);
            if (instance is null)
                return (false, 0);
            var data = PersonalField.Erase(instance.Data, fields, JsonName, SagaTables.Json);
            if (data is not null && !await SagaTables.UpdateAsync(connection, transaction, sagaName, correlationId, instance.Version, instance.CurrentState, data,
                    DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false))
            {
                if (attempt < 10)
                    continue; // a step saved in between: erase its data
                throw new InvalidOperationException($"Saga {sagaName} {correlationId} kept changing while its personal data was erased; erase it again.");
            }
            var history = new List<(string Id, string Sent)>();
            await using (var select = Sql.Command(connection, transaction, "SELECT id, sent FROM saga_history WHERE saga_name = @name AND correlation_id = @id"))
            {
                Sql.Add(select, "name", sagaName);
                Sql.Add(select, "id", correlationId.ToString("D"));
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    history.Add((reader.GetString(0), reader.GetString(1)));
            }
            var changed = 0;
            foreach (var (id, sent) in history)
            {
                var messages = JsonSerializer.Deserialize<SentMessage[]>(sent, SagaTables.Json) ?? [];
                var erased = messages.Select(m => Erase(m.Payload, m.MessageType) is { } payload ? m with { Payload = payload } : m).ToArray();
                if (erased.SequenceEqual(messages))
                    continue;
                await using var update = Sql.Command(connection, transaction, "UPDATE saga_history SET sent = @sent WHERE id = @id");
                Sql.Add(update, "sent", JsonSerializer.Serialize(erased, SagaTables.Json));
                Sql.Add(update, "id", id);
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                changed++;
            }
            // What its outbox holds and has not sent yet (a command of the step running now).
            var waiting = new List<(string Id, string Type, string Payload)>();
            await using (var select = Sql.Command(connection, transaction,
                             "SELECT id, message_type, payload FROM scheduled_messages WHERE owner = @owner AND correlation_id = @id"))
            {
                Sql.Add(select, "owner", "saga:" + sagaName);
                Sql.Add(select, "id", correlationId.ToString("D"));
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    waiting.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
            foreach (var (id, type, payload) in waiting)
            {
                if (Erase(payload, type) is { } erased)
                    await ScheduledMessageStore.UpdatePayloadAsync(connection, transaction, id, erased, cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return (true, changed);
        }
    }

    // A state property's name as the saga's data is stored (and the commands it sent).
    static string JsonName(string property) => SagaTables.Json.PropertyNamingPolicy?.ConvertName(property) ?? property;

    // A timeout is delivered with its token and acts only while the saga's token property holds that
    // token (MassTransit clears the property once it fired): each is scheduled again with a new
    // token, written into the property the step recorded. Null data: nothing to change.
    static (string? Data, List<ScheduledMessageRow> Timeouts) Rearm(SagaInstanceRow instance, SentMessage[] sent, string owner, DateTimeOffset now)
    {
        var timeouts = new List<ScheduledMessageRow>();
        var scheduled = sent.Where(m => m is { TokenId: not null, DelayMilliseconds: not null, TokenProperty: not null }).ToArray();
        if (scheduled.Length == 0)
            return (null, timeouts);
        var data = System.Text.Json.Nodes.JsonNode.Parse(instance.Data)!.AsObject();
        foreach (var timeout in scheduled)
        {
            var token = Guid.CreateVersion7();
            var property = data.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, timeout.TokenProperty, StringComparison.OrdinalIgnoreCase))
                ?? SagaTables.Json.PropertyNamingPolicy?.ConvertName(timeout.TokenProperty!) ?? timeout.TokenProperty!;
            data[property] = token;
            timeouts.Add(new ScheduledMessageRow(Guid.CreateVersion7(), owner, instance.CorrelationId.ToString("D"), token, timeout.Kind, timeout.Destination,
                timeout.MessageType, timeout.Payload, timeout.Headers, now + TimeSpan.FromMilliseconds(timeout.DelayMilliseconds!.Value), now, 0, null));
        }
        return (data.ToJsonString(SagaTables.Json), timeouts);
    }

    /// <summary>
    /// Marks a saga resolved by hand (the operator fixed its effects outside the platform): it keeps
    /// its state and history, gets the note, and leaves the default <c>sagas list</c>.
    /// </summary>
    /// <param name="correlationId">The saga instance.</param>
    /// <param name="reason">What the operator did.</param>
    /// <param name="sagaName">Which saga, when several kinds share the id.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>How many pending timeouts of the saga were cancelled with it.</returns>
    public async Task<int> ResolveAsync(Guid correlationId, string reason, string? sagaName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var saga = await SingleAsync(correlationId, sagaName, cancellationToken).ConfigureAwait(false);
        var instance = saga.Instance;
        if (instance.ResolvedAt is not null)
            throw new InvalidOperationException($"Saga {instance.SagaName} {correlationId} is already resolved: {instance.Resolution}");
        var now = DateTimeOffset.UtcNow;
        await using var write = await Sql.OpenWriteAsync(_provider, _connectionString, cancellationToken).ConfigureAwait(false);
        var connection = write.Connection;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = Sql.Command(connection, transaction,
            "UPDATE saga_instances SET resolved_at = @now, resolution = @reason, version = version + 1, updated_at = @now " +
            "WHERE saga_name = @name AND correlation_id = @id AND version = @version"))
        {
            Sql.Add(command, "now", Sql.Time(now));
            Sql.Add(command, "reason", reason);
            Sql.Add(command, "name", instance.SagaName);
            Sql.Add(command, "id", correlationId.ToString("D"));
            Sql.Add(command, "version", instance.Version);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
                throw new InvalidOperationException($"Saga {instance.SagaName} {correlationId} changed while resolving; look at it again.");
        }
        await SagaTables.AddHistoryAsync(connection, transaction, new SagaHistoryRow(instance.SagaName, correlationId, instance.Version + 1,
            instance.CurrentState, instance.CurrentState, "operator:resolve", null, "[]", now), cancellationToken).ConfigureAwait(false);
        // The operator took over: a step or compensation timeout firing later would move the saga
        // on by itself (compensate what the operator fixed by hand).
        var cancelled = await ScheduledMessageStore.CancelTimeoutsAsync(connection, transaction, "saga:" + instance.SagaName, correlationId.ToString("D"),
            cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return cancelled;
    }

    async Task<SagaDetails> SingleAsync(Guid correlationId, string? sagaName, CancellationToken cancellationToken)
    {
        var found = (await GetAsync(correlationId, cancellationToken).ConfigureAwait(false))
            .Where(d => sagaName is null || d.Instance.SagaName == sagaName).ToArray();
        return found.Length switch
        {
            0 => throw new InvalidOperationException($"No saga {(sagaName is null ? "" : sagaName + " ")}with id {correlationId}."),
            1 => found[0],
            _ => throw new InvalidOperationException(
                $"Several sagas have id {correlationId} ({string.Join(", ", found.Select(f => f.Instance.SagaName))}); name one with --saga."),
        };
    }
}
