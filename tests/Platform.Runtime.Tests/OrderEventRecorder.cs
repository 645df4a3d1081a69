using System.Collections.Concurrent;
using MassTransit;
using Platform.EventStore.Storage;
using Platform.Runtime.Consumers;
using Platform.Runtime.Messaging;
using Shop.Orders;

namespace Platform.Runtime.Tests;

/// <summary>What the recorder saw, in the order it committed it.</summary>
sealed class ObservationSink
{
    int _deliveries;
    int _redeliveriesIgnored;
    readonly List<EventHeaders> _handled = [];

    public ConcurrentDictionary<Guid, string?> TraceParents { get; } = new();

    /// <summary>The user header each committed event arrived with.</summary>
    public ConcurrentDictionary<Guid, string?> Users { get; } = new();

    /// <summary>Events whose effects ran while the committed effects of their stream were not exactly the versions before them.</summary>
    public ConcurrentQueue<string> OrderViolations { get; } = new();

    public int Deliveries => Volatile.Read(ref _deliveries);

    /// <summary>
    /// How long the recorder holds a delivery after its transaction committed, before the
    /// broker gets the acknowledgement: widens the window in which a broker restart finds
    /// committed but unacknowledged messages. Zero by default.
    /// </summary>
    public TimeSpan HoldBeforeAck { get; set; }

    public void Delivered() => Interlocked.Increment(ref _deliveries);

    /// <summary>
    /// Streams whose events the recorder acknowledges without processing, as if the transport had
    /// lost them (a purged queue, a topic past its retention): no effect, no inbox row.
    /// </summary>
    public ConcurrentDictionary<string, int> LostStreams { get; } = new();

    /// <summary>Deliveries the inbox recognised as already processed.</summary>
    public int RedeliveriesIgnored => Volatile.Read(ref _redeliveriesIgnored);

    public void RedeliveryIgnored() => Interlocked.Increment(ref _redeliveriesIgnored);

    public void Handled(EventHeaders headers)
    {
        lock (_handled)
            _handled.Add(headers);
    }

    public IReadOnlyList<EventHeaders> HandledInOrder()
    {
        lock (_handled)
            return _handled.ToArray();
    }
}

/// <summary>
/// An idempotent consumer of every Order event: writes one row per event into
/// <c>consumer_effects</c> in the inbox transaction, and tells the sink what it committed.
/// </summary>
sealed class OrderEventRecorder(SqlEventStore store, ObservationSink sink) : IdempotentEventConsumer(store),
    IConsumer<OrderPlaced>, IConsumer<OrderConfirmed>, IConsumer<OrderShipped>, IConsumer<OrderCancelled>
{
    public const string CreateTableSql =
        "CREATE TABLE consumer_effects (event_id text PRIMARY KEY, stream_id text NOT NULL, stream_version bigint NOT NULL)";

    public Task Consume(ConsumeContext<OrderPlaced> context) => RecordAsync(context);

    public Task Consume(ConsumeContext<OrderConfirmed> context) => RecordAsync(context);

    public Task Consume(ConsumeContext<OrderShipped> context) => RecordAsync(context);

    public Task Consume(ConsumeContext<OrderCancelled> context) => RecordAsync(context);

    async Task RecordAsync<T>(ConsumeContext<T> context) where T : class
    {
        sink.Delivered();
        if (!sink.LostStreams.IsEmpty && sink.LostStreams.TryGetValue(EventHeaders.From(context).StreamId, out _))
        {
            sink.LostStreams.AddOrUpdate(EventHeaders.From(context).StreamId, 1, (_, lost) => lost + 1);
            return;
        }
        EventHeaders? committed = null;
        var firstTime = await ConsumeOnceAsync(context, async (@event, cancellationToken) =>
        {
            await using (var committedBefore = @event.CreateCommand())
            {
                committedBefore.CommandText =
                    "SELECT count(*), coalesce(max(stream_version), 0) FROM consumer_effects WHERE stream_id = @stream";
                Add(committedBefore, "stream", @event.Event.StreamId);
                await using var reader = await committedBefore.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                var (count, highest) = (reader.GetInt64(0), reader.GetInt64(1));
                if (count != @event.Event.StreamVersion - 1 || highest != @event.Event.StreamVersion - 1)
                    sink.OrderViolations.Enqueue($"{@event.Event.StreamId} v{@event.Event.StreamVersion} ran after {count} effects up to v{highest}");
            }
            await using var insert = @event.CreateCommand();
            // A primary key on the event id: if the inbox ever let a redelivery through, this
            // insert would fail the test rather than hide it.
            insert.CommandText = "INSERT INTO consumer_effects (event_id, stream_id, stream_version) VALUES (@id, @stream, @version)";
            Add(insert, "id", @event.Event.EventId.ToString("D"));
            Add(insert, "stream", @event.Event.StreamId);
            Add(insert, "version", @event.Event.StreamVersion);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            committed = @event.Event;
        });
        if (!firstTime)
            sink.RedeliveryIgnored();
        if (committed is not null)
        {
            sink.TraceParents[committed.EventId] = context.Headers.Get<string>(MassTransitEventPublisher.TraceParentHeader);
            sink.Users[committed.EventId] = context.Headers.Get<string>(Platform.Messaging.PlatformHeaders.UserId);
            sink.Handled(committed);
        }
        if (sink.HoldBeforeAck > TimeSpan.Zero)
            await Task.Delay(sink.HoldBeforeAck);
    }

    static void Add(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
