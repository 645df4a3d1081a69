using System.Data.Common;
using System.Text.Json;
using MassTransit;
using Platform.Messaging;

namespace Platform.Runtime.Scheduling;

/// <summary>
/// What one saga or reaction step sends, publishes and schedules, held until its transaction
/// commits. Sends and publishes are written to <c>scheduled_messages</c> in the step's transaction
/// (<see cref="FlushAsync"/>) and delivered after the commit; timeouts are written there too, and
/// cancelled timeouts are deleted in the same transaction. A step that rolls back leaves nothing.
/// </summary>
public sealed class TransactionalOutbox : IKeyedScheduler
{
    readonly List<ScheduledMessageRow> _pending = [];
    readonly ConsumeContext _consumed;
    readonly MessageRoutes _routes;

    internal TransactionalOutbox(string owner, string? correlationId, ConsumeContext consumed, DbConnection connection, DbTransaction transaction,
        MessageRoutes routes, TimeSpan leftoverDelay)
    {
        Owner = owner;
        CorrelationId = correlationId;
        _consumed = consumed;
        Connection = connection;
        Transaction = transaction;
        _routes = routes;
        LeftoverDelay = leftoverDelay;
    }

    /// <summary>Who writes the rows, e.g. <c>saga:OrderFulfilment</c>.</summary>
    public string Owner { get; }

    /// <summary>The saga instance, when a saga step runs.</summary>
    public string? CorrelationId { get; set; }

    internal DbConnection Connection { get; }

    internal DbTransaction Transaction { get; }

    internal TimeSpan LeftoverDelay { get; }

    /// <summary>The outbox messages of this step (not the timeouts), to deliver after the commit.</summary>
    public IReadOnlyList<ScheduledMessageRow> Outgoing => _pending.Where(m => m.TokenId is null).ToArray();

    /// <summary>Every message this step wrote or will write, timeouts included.</summary>
    public IReadOnlyList<ScheduledMessageRow> Pending => _pending;

    internal void Capture(DeliveryKind kind, Uri? destination, object message, Type messageType)
    {
        var resolved = kind == DeliveryKind.Send ? _routes.Resolve(destination!, messageType) : null;
        var now = DateTimeOffset.UtcNow;
        _pending.Add(Create(kind, resolved, message, messageType, null, now + LeftoverDelay, now));
    }

    internal Guid Schedule(Uri destination, DateTimeOffset dueAt, object message, Type messageType, Guid? token = null, long? keyVersion = null)
    {
        var id = token ?? Guid.CreateVersion7();
        _pending.Add(Create(DeliveryKind.Send, _routes.ResolveScheduled(destination, _consumed, messageType), message, messageType, id, dueAt,
            DateTimeOffset.UtcNow) with { KeyVersion = keyVersion });
        return id;
    }

    // The key is the row's token: cancelling deletes the rows scheduled under it, as a timeout's; the
    // version of the event that schedules (unless's) stays with the row, for a cancel by version.
    async Task<bool> IKeyedScheduler.ScheduleAsync<T>(Guid key, Uri destination, DateTimeOffset dueAt, T message, CancelledBy? unless,
        CancellationToken cancellationToken)
    {
        await ScheduledMessageStore.LockKeyAsync(Connection, Transaction, key, cancellationToken).ConfigureAwait(false);
        if (unless is not null && await ScheduledMessageStore.StoredAfterAsync(Connection, Transaction, unless, cancellationToken).ConfigureAwait(false))
            return false;
        Schedule(destination, dueAt, message, typeof(T), key, unless?.Version);
        return true;
    }

    async Task IKeyedScheduler.CancelAsync(Guid key, CancellationToken cancellationToken)
    {
        await ScheduledMessageStore.LockKeyAsync(Connection, Transaction, key, cancellationToken).ConfigureAwait(false);
        await CancelAsync(key, cancellationToken).ConfigureAwait(false);
    }

    async Task IKeyedScheduler.CancelAsync(Guid key, long version, CancellationToken cancellationToken)
    {
        await ScheduledMessageStore.LockKeyAsync(Connection, Transaction, key, cancellationToken).ConfigureAwait(false);
        _pending.RemoveAll(m => m.TokenId == key && (m.KeyVersion is null || m.KeyVersion < version));
        await ScheduledMessageStore.CancelBeforeAsync(Connection, Transaction, key, version, cancellationToken).ConfigureAwait(false);
    }

    internal async Task CancelAsync(Guid tokenId, CancellationToken cancellationToken)
    {
        // A timeout scheduled and cancelled in the same step never reached the table.
        if (_pending.RemoveAll(m => m.TokenId == tokenId) > 0)
            return;
        await ScheduledMessageStore.CancelAsync(Connection, Transaction, tokenId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the captured messages in the step's transaction.</summary>
    /// <param name="cancellationToken">Cancels the inserts.</param>
    public Task FlushAsync(CancellationToken cancellationToken) =>
        ScheduledMessageStore.InsertAsync(Connection, Transaction, _pending, cancellationToken);

    /// <summary>Forgets what was captured (the step is run again after a conflict).</summary>
    public void Clear() => _pending.Clear();

    ScheduledMessageRow Create(DeliveryKind kind, Uri? destination, object message, Type messageType, Guid? token, DateTimeOffset dueAt, DateTimeOffset now)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var correlation = _consumed.Headers.Get<string>(PlatformHeaders.CorrelationId)
            ?? _consumed.CorrelationId?.ToString("D") ?? _consumed.MessageId?.ToString("D");
        if (correlation is not null)
            headers[PlatformHeaders.CorrelationId] = correlation;
        if (_consumed.MessageId is { } causation)
            headers[PlatformHeaders.CausationId] = causation.ToString("D");
        // On behalf of the user the consumed event was written for: the command's events carry it too.
        if (_consumed.Headers.Get<string>(PlatformHeaders.UserId) is { } user)
            headers[PlatformHeaders.UserId] = user;
        var stored = new StoredHeaders(_consumed.ConversationId, _consumed.MessageId,
            message is CorrelatedBy<Guid> correlated ? correlated.CorrelationId : null, headers);
        return new ScheduledMessageRow(Guid.CreateVersion7(), Owner, CorrelationId, token, kind, destination?.ToString(),
            messageType.AssemblyQualifiedName!, JsonSerializer.Serialize(message, messageType, MessageDelivery.Json),
            JsonSerializer.Serialize(stored, MessageDelivery.Json), dueAt, now, 0, null);
    }
}
