using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Messaging;
using Platform.Runtime.Configuration;
using Platform.Runtime.Consumers;
using Platform.Runtime.Messaging;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// Re-sends the dead letters an operator asked to replay (<c>platform dlq replay</c> marks the row;
/// the CLI has no bus of its own, and on the in-memory transport only the runtime can reach the
/// queue; on Kafka, the queue's command topic). Each letter goes to the queue it failed on, as its CLR type, with its original message
/// id and headers, so the idempotent consumer and the order guard treat it like the first delivery.
/// The row is removed once sent; if it fails again, its retries run again and a new letter is written.
/// A letter of an endpoint this runtime does not host is left for the runtime on the same store that
/// does (on a broker, processes may host different endpoints); in memory, where there is no other
/// process, it is Dead again, as below. Of several instances on one store, one at a time replays an
/// endpoint's letters (<see cref="DeadLetterStore.TryTakeReplayTurnAsync"/>), so each goes out once.
/// A letter this build cannot send at all (its type is not loaded, its payload is not that type in
/// JSON, as an unreadable Kafka record's may be) is Dead again, with an error logged: asking again
/// cannot help, and it must not hold up the letters after it.
/// An event whose letter says it was sent at another schema version (<see cref="PlatformHeaders.PayloadVersion"/>)
/// is read at that version and upcast, and sent as this build's version; one of a version newer than
/// this build's is Dead again, for the newer build to replay. That build replays such letters by
/// itself, at every poll, as soon as it runs (<see cref="RequestReadableAsync"/>): in a rolling upgrade
/// the events an old instance could not read reach the consumers without an operator, and soon enough
/// for the later events of their streams, which wait in the order guard meanwhile.
/// The letters the order guard wrote (<see cref="OutOfOrderEventException"/>) it replays by itself
/// too, once the guard would let them through (<see cref="RequestClosedGapsAsync"/>): fixing and
/// replaying a poison event is enough for the events of its stream that waited for it to follow.
/// </summary>
sealed class DeadLetterReplayService(DeadLetterStore store, IBus bus, PlatformOptions options, EndpointMessageTypes consumed,
    EventTypeRegistry registry, SqlEventStore events, OrderedConsumers ordered, ILogger<DeadLetterReplayService> logger,
    Kafka.KafkaSendEndpointProvider? kafka = null)
    : BackgroundService
{
    // At most this many of the guard's streams are asked about a poll, so that a pile of letters costs
    // a bounded number of queries a poll; the next poll goes on where this one stopped, so that
    // streams whose gap never closes do not keep the others from being asked.
    internal const int GapChecksPerPoll = 100;
    int _gapCursor;
    readonly HashSet<string> _leftToOthers = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Retries.ReplayPollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            IReadOnlyList<string> endpoints;
            try
            {
                await RequestReadableAsync(stoppingToken).ConfigureAwait(false);
                await RequestClosedGapsAsync(stoppingToken).ConfigureAwait(false);
                endpoints = await store.RequestedEndpointsAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(exception, "Reading the dead letters to replay failed; retrying in {Interval}", options.Retries.ReplayPollInterval);
                continue;
            }
            foreach (var endpoint in endpoints)
            {
                try
                {
                    await ReplayEndpointAsync(endpoint, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogError(exception, "Replaying the dead letters of {Endpoint} failed; retrying in {Interval}", endpoint, options.Retries.ReplayPollInterval);
                }
            }
        }
    }

    // One instance at a time sends an endpoint's requested letters (the store's turn), so that of
    // several instances of a service each letter goes out once, and a stream's in order; the
    // requests are read once the turn is taken. A letter of an endpoint another runtime on the same
    // store hosts (on a broker, processes may host different endpoints) is that runtime's to
    // replay: it consumes the queue and knows the types. In memory there is no other process, and
    // ReplayAsync reports such a letter.
    async Task ReplayEndpointAsync(string endpoint, CancellationToken cancellationToken)
    {
        if (!consumed.Hosts(endpoint) && options.Transport.Kind != TransportKind.InMemory)
        {
            if (_leftToOthers.Add(endpoint))
            {
                logger.LogWarning("Dead letters of {Endpoint}, which this runtime does not host, are requested; they are left for a runtime that does (discard them if none does any more)",
                    endpoint);
            }
            return;
        }
        await using var turn = await store.TryTakeReplayTurnAsync(endpoint, cancellationToken).ConfigureAwait(false);
        if (turn is null)
            return;
        foreach (var letter in await store.ReplayRequestsAsync(endpoint, cancellationToken).ConfigureAwait(false))
            await ReplayOrReportAsync(letter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks to replay the letters of events a build older than this one could not read
    /// (<see cref="UnknownEventVersionException"/>) and this one reads, on its endpoints, with the letters of their
    /// streams' later events that the order guard gave up on meanwhile (<see cref="OutOfOrderEventException"/>,
    /// same endpoint): all in one request, which the replay sends in the store's order. Two
    /// instances of this build may both ask; only one request takes (it moves the letters from Dead).
    /// </summary>
    async Task RequestReadableAsync(CancellationToken cancellationToken)
    {
        var readable = new List<DeadLetterHead>();
        foreach (var letter in await store.DeadHeadsOfExceptionAsync(typeof(UnknownEventVersionException).FullName!, withHeaders: true, cancellationToken)
                     .ConfigureAwait(false))
        {
            var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(letter.Headers!, DeadLetterFilter.Json) ?? [];
            if (consumed.Hosts(letter.Endpoint) && letter.EventType is { } eventType && registry.TryGet(eventType, out var descriptor)
                && headers.TryGetValue(PlatformHeaders.PayloadVersion, out var sentAt)
                && PayloadVersionHeader.TryParse(sentAt, out var version) && version <= descriptor.SchemaVersion)
                readable.Add(letter);
        }
        if (readable.Count == 0)
            return;
        // Each stream's first readable letter on each endpoint: the guard's letters after it waited for it.
        var firsts = readable.Where(l => l.StreamId is not null && l.StreamVersion is not null)
            .GroupBy(l => (l.Endpoint, l.StreamId))
            .ToDictionary(g => g.Key, g => g.Min(l => l.StreamVersion!.Value));
        var waited = await store.DeadHeadsOfExceptionAsync(typeof(OutOfOrderEventException).FullName!, withHeaders: false, cancellationToken)
            .ConfigureAwait(false);
        var successors = waited.Where(later => later.StreamVersion is { } version
            && firsts.TryGetValue((later.Endpoint, later.StreamId), out var first) && first < version).ToList();
        var requested = (await store.RequestReplayAsync([.. readable.Concat(successors).Select(l => l.Id)], cancellationToken).ConfigureAwait(false))
            .ToHashSet();
        foreach (var letter in readable.Where(l => requested.Contains(l.Id)))
        {
            logger.LogInformation("Dead letter {DeadLetterId}: {EventType} (stream {StreamId} v{StreamVersion}), sent at a schema version an older build could not read, is replayed by this one",
                letter.Id, letter.EventType, letter.StreamId, letter.StreamVersion);
        }
        foreach (var letter in successors.Where(l => requested.Contains(l.Id)))
        {
            logger.LogInformation("Dead letter {DeadLetterId}: {EventType} (stream {StreamId} v{StreamVersion}), which waited for it, is replayed after it",
                letter.Id, letter.EventType, letter.StreamId, letter.StreamVersion);
        }
    }

    /// <summary>
    /// Asks to replay the order guard's letters whose stream has no gap before them any more: the
    /// event they waited for was applied since (its letter replayed, or its retries got through just
    /// after the guard gave up). For each stream and endpoint, the guard is asked about its earliest
    /// letter; if nothing before it is missing, all of the stream's guard letters there are
    /// requested together, and the replay sends them in version order. A letter of an event applied
    /// meanwhile goes too: the inbox takes it for the redelivery it is, and the letter is gone.
    /// Letters of consumers or endpoints this runtime does not host are left to the runtime that does.
    /// </summary>
    async Task RequestClosedGapsAsync(CancellationToken cancellationToken)
    {
        var guarded = typeof(OutOfOrderEventException).FullName!;
        var streams = (await store.DeadStreamsOfExceptionAsync(guarded, cancellationToken).ConfigureAwait(false))
            .Select(s => (Stream: s, Consumer: ordered.TryGet(s.Consumer, out var consumer) && consumed.Hosts(s.Endpoint) ? consumer : null))
            .Where(s => s.Consumer is not null)
            .ToList();
        foreach (var (stream, consumer) in NextWindow(streams, ref _gapCursor, GapChecksPerPoll))
        {
            if (await events.CountUnprocessedBeforeAsync(consumer!.InboxName, stream.StreamId, stream.FirstVersion, consumer.HandledTypes,
                    cancellationToken).ConfigureAwait(false) != 0)
                continue;
            var requested = await store.RequestStreamReplayAsync(stream, guarded, cancellationToken).ConfigureAwait(false);
            if (requested > 0)
            {
                logger.LogInformation("{Count} dead letter(s) of stream {StreamId} from v{StreamVersion} on {Endpoint}, which the order guard gave up on, are replayed: the events before them are applied now",
                    requested, stream.StreamId, stream.FirstVersion, stream.Endpoint);
            }
        }
    }

    /// <summary>
    /// Up to <paramref name="max"/> of <paramref name="items"/> from <paramref name="cursor"/> on,
    /// wrapping around, and the cursor moved past them: called again and again, it goes through
    /// every item, however many there are.
    /// </summary>
    internal static List<T> NextWindow<T>(IReadOnlyList<T> items, ref int cursor, int max)
    {
        if (items.Count == 0)
            return [];
        var start = cursor % items.Count;
        var window = new List<T>(Math.Min(max, items.Count));
        for (var i = 0; i < window.Capacity; i++)
            window.Add(items[(start + i) % items.Count]);
        cursor = (start + window.Count) % items.Count;
        return window;
    }

    // One letter's failure is logged and does not hold up the letters after it.
    async Task ReplayOrReportAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        try
        {
            try
            {
                await ReplayAsync(letter, cancellationToken).ConfigureAwait(false);
            }
            catch (UnreplayableException unreplayable)
            {
                await store.ReturnToDeadAsync(letter.Id, cancellationToken).ConfigureAwait(false);
                logger.LogError(unreplayable.InnerException,
                    "Dead letter {DeadLetterId} cannot be replayed by this build: {Reason}. It is Dead again: discard it, or replay it from a build that reads it",
                    letter.Id, unreplayable.Message);
            }
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The request stays in the table, so the next tick tries again.
            logger.LogError(exception, "Replaying dead letter {DeadLetterId} failed; retrying in {Interval}", letter.Id, options.Retries.ReplayPollInterval);
        }
    }

    async Task ReplayAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        if (!consumed.Hosts(letter.Endpoint))
            throw new UnreplayableException($"this runtime has no endpoint '{letter.Endpoint}' (its consumer was removed or renamed, or the letter was written by another service)");
        var type = LoadType(letter.MessageType)
            ?? throw new UnreplayableException($"its type '{letter.MessageType}' is not loaded by this runtime");
        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(letter.Headers, DeadLetterFilter.Json) ?? [];
        // An event sent at another version is read as that version's record and upcast.
        var payloadType = type;
        EventTypeDescriptor? upcaster = null;
        if (registry.TryGet(type, out var descriptor) && headers.TryGetValue(PlatformHeaders.PayloadVersion, out var sentAt)
            && PayloadVersionHeader.TryParse(sentAt, out var version) && version != descriptor.SchemaVersion)
        {
            if (version > descriptor.SchemaVersion || descriptor.ClrTypeOf(version) is not { } versionType)
                throw new UnreplayableException(new UnknownEventVersionException(descriptor.TypeName, version, descriptor.SchemaVersion).Message);
            (payloadType, upcaster) = (versionType, descriptor);
            headers[PlatformHeaders.PayloadVersion] = PayloadVersionHeader.Text(descriptor.SchemaVersion);
        }
        object message;
        try
        {
            message = JsonSerializer.Deserialize(letter.Payload, payloadType, DeadLetterFilter.Json)
                ?? throw new UnreplayableException("its payload is null");
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException)
        {
            throw new UnreplayableException($"its payload is not a {payloadType.Name} in JSON", exception);
        }
        if (upcaster is not null)
            message = upcaster.Upcast(message);
        // On Kafka through the queue's command topic, keyed by the event's stream: a stream's letters
        // reach its group one after another, in order, as its records do.
        var endpoint = await ((ISendEndpointProvider?)kafka ?? bus).GetSendEndpoint(RetryPipeline.EndpointAddress(options, letter.Endpoint)).ConfigureAwait(false);
        await endpoint.Send(message, type, Pipe.Execute<SendContext>(context =>
        {
            if (Guid.TryParse(letter.MessageId, out var messageId))
                context.MessageId = messageId;
            foreach (var (name, value) in headers)
                context.Headers.Set(name, value);
        }), cancellationToken).ConfigureAwait(false);
        await store.RemoveReplayedAsync(letter.Id, cancellationToken).ConfigureAwait(false);
        DeadLetterTelemetry.MessagesReplayed.Add(1);
        logger.LogInformation("Replayed dead letter {DeadLetterId} ({MessageType}) to {Endpoint}", letter.Id, type.Name, letter.Endpoint);
    }

    // A letter of a message that was not consumed, or could not be read, names a MassTransit URN
    // (found if an endpoint of this build consumes that type) or "unknown", which GetType may refuse
    // with an exception instead of a null.
    Type? LoadType(string name)
    {
        if (name.StartsWith(MessageUrn.Prefix, StringComparison.Ordinal))
            return consumed.Find(name);
        try
        {
            return Type.GetType(name, throwOnError: false);
        }
        catch (Exception exception) when (exception is ArgumentException or IOException or BadImageFormatException)
        {
            return null;
        }
    }
}

/// <summary>Why a dead letter cannot be replayed by this build whatever is tried again.</summary>
sealed class UnreplayableException(string message, Exception? inner = null) : Exception(message, inner);
