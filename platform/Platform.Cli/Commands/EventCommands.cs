using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Runtime;
using Platform.Runtime.Configuration;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform events tail</c> (the store in global order, as the relay and the projections read
/// it, optionally following new events) and <c>platform stream show &lt;id&gt;</c> (one stream, every
/// version). Both decode events with the domain's types (<c>--domain</c>), so a payload is printed
/// at the current schema version, upcast if it was stored older; the stored version is shown beside it.
/// </summary>
internal static class EventCommands
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    static readonly JsonSerializerOptions IndentedJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>How often <c>--follow</c> looks for new events once it has caught up.</summary>
    static readonly TimeSpan FollowPollInterval = TimeSpan.FromMilliseconds(500);

    const int PageSize = 500;

    /// <summary>One event as <c>--json</c> prints it.</summary>
    sealed record EventView(
        long Position, string StreamId, string StreamType, long Version, Guid EventId, string Type,
        int SchemaVersion, int ReadAsVersion, DateTimeOffset Timestamp,
        string? CorrelationId, string? CausationId, string? UserId, JsonElement Payload);

    public static Command Events()
    {
        var arguments = new DomainStoreArguments();
        var from = new Option<long>("--from") { Description = "The first global position to print (default 1, the beginning).", DefaultValueFactory = _ => 1 };
        var follow = new Option<bool>("--follow") { Description = "Keep printing new events as they are stored, until Ctrl+C." };
        var type = new Option<string?>("--type") { Description = "Only events of this type: the stored name (shop.orders.order-placed) or the class name (OrderPlaced)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line (JSON Lines)." };
        var archived = new Option<bool>("--archived") { Description = "Include archived events at their positions, as the projections read them (the relay reads live events only)." };
        var tail = new Command("tail", "Print the store's events in global order (the order the relay and the projections read), from --from on.") { from, follow, type, json, archived };
        arguments.AddTo(tail);
        tail.SetAction((parse, ct) => arguments.RunAsync(parse, async (store, _, output) =>
        {
            var first = parse.GetValue(from);
            if (first < 1)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: --from {first} is not a position; positions start at 1 (see 'platform status' for the head).");
                return 1;
            }
            var filter = parse.GetValue(type);
            if (filter is not null && !store.Registry.Descriptors.Any(d => Matches(d, filter)))
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: no event type '{filter}' in the domain; pass one of: " +
                    string.Join(", ", store.Registry.Descriptors.Select(d => d.TypeName).Order(StringComparer.Ordinal)) + ".");
                return 1;
            }
            var asJson = parse.GetValue(json);
            var after = first - 1;
            try
            {
                while (true)
                {
                    var page = await store.ReadAllAsync(after, PageSize, parse.GetValue(archived), ct);
                    foreach (var envelope in page.Events)
                    {
                        if (filter is not null && !Matches(Descriptor(store, envelope), filter))
                            continue;
                        output.WriteLine(asJson ? JsonSerializer.Serialize(View(store, envelope), Json) : TailLine(store, envelope));
                    }
                    after = page.NextPosition;
                    if (!page.ReachedEnd)
                        continue;
                    if (!parse.GetValue(follow))
                        return 0;
                    output.Flush();
                    await Task.Delay(FollowPollInterval, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 0; // Ctrl+C ends --follow; what was printed is complete
            }
        }));

        return new Command("events", "The events in the store.") { tail, ArchiveCommands.EventsArchive() };
    }

    public static Command Stream()
    {
        var arguments = new DomainStoreArguments();
        var id = new Argument<string>("stream-id") { Description = "The stream (aggregate id), e.g. an order id." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var show = new Command("show", "Print every event of one stream (archived ones included) with version, type, schema version, time, correlation and causation ids and payload.") { id, json };
        arguments.AddTo(show);
        show.SetAction((parse, ct) => arguments.RunAsync(parse, async (store, _, output) =>
        {
            var streamId = parse.GetValue(id)!;
            var events = new List<EventEnvelope>();
            await foreach (var envelope in store.ReadStreamAsync(streamId, includeArchived: true, cancellationToken: ct))
                events.Add(envelope);
            if (events.Count == 0)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: no stream '{streamId}' in the store; 'platform events tail' shows the stream ids there are.");
                return 1;
            }
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(events.Select(e => View(store, e)), IndentedJson));
                return 0;
            }
            output.WriteLine($"stream {events[0].StreamType} {streamId}: {events.Count} event(s), version {events[^1].StreamVersion}");
            foreach (var e in events)
            {
                var view = View(store, e);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"v{e.StreamVersion}  {e.Timestamp:O}  {e.TypeName} {SchemaText(view)}  position {e.GlobalPosition}  event {e.EventId:D}"));
                output.WriteLine($"    correlation {e.Metadata.CorrelationId ?? "-"}  causation {e.Metadata.CausationId ?? "-"}" +
                                 (e.Metadata.UserId is null ? "" : $"  user {e.Metadata.UserId}"));
                output.WriteLine("    " + view.Payload.GetRawText());
            }
            return 0;
        }));

        return new Command("stream", "One stream of the store.") { show, Erase(), ArchiveCommands.StreamArchive(), ArchiveCommands.StreamRestore(), StreamCommand.Create() };
    }

    /// <summary>
    /// <c>platform stream erase &lt;id&gt; --domain X</c>: a data subject's erasure (<see cref="PersonalDataEraser"/>).
    /// The stream's events keep their ids, versions and other fields; their personal fields
    /// (<c>personal: true</c>) are overwritten, its snapshot deleted, and the sagas they started
    /// erased too. The read models that copy those fields and the stream's dead letters still hold
    /// them: the command names them (and deletes the letters with <c>--delete-dead-letters</c>).
    /// </summary>
    static Command Erase()
    {
        var arguments = new DomainStoreArguments();
        var ids = new Argument<string[]>("stream-id")
        {
            Description = "The streams (aggregate ids) whose personal data is erased: a data subject's orders, account, ...", Arity = ArgumentArity.OneOrMore,
        };
        var json = new Option<bool>("--json") { Description = "Print JSON: an array, one object per stream." };
        var deleteLetters = new Option<bool>("--delete-dead-letters")
        {
            Description = "Also delete the streams' dead letters, discarded ones included: they keep their messages as sent, and a replay would apply them again. Replay or resolve first what must still run.",
        };
        var erase = new Command("erase",
            "Overwrite the personal fields (personal: true) of streams' stored events, live and archived, and of the sagas they started, and delete their snapshots; name the read models to rebuild and the dead letters left.")
        { ids, json, deleteLetters };
        arguments.AddTo(erase);
        erase.SetAction((parse, ct) => arguments.RunAsync(parse, async (store, catalog, output) =>
        {
            var streamIds = parse.GetValue(ids)!.Distinct(StringComparer.Ordinal).ToArray();
            // Every stream first: a mistyped id erases nothing.
            foreach (var streamId in streamIds)
            {
                await using var events = store.ReadStreamAsync(streamId, maxCount: 1, includeArchived: true, cancellationToken: ct).GetAsyncEnumerator(ct);
                if (!await events.MoveNextAsync())
                {
                    parse.InvocationConfiguration.Error.WriteLine($"error: no stream '{streamId}' in the store, so nothing was erased; 'platform events tail' shows the stream ids there are.");
                    return 1;
                }
            }
            var provider = store.Options.Provider == EventStoreProvider.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite;
            var eraser = new PersonalDataEraser(store, catalog, provider, store.Options.ConnectionString);
            var erasures = new List<PersonalDataErasure>();
            foreach (var streamId in streamIds)
                erasures.Add(await eraser.EraseAsync(streamId, parse.GetValue(deleteLetters), ct));
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(erasures.Select(erasure => new
                {
                    erasure.Stream.StreamId, erasure.Stream.Events, erasure.Stream.ErasedEvents, erasure.Stream.ErasedArchivedEvents, erasure.Stream.SnapshotDeleted,
                    erasure.Stream.PersonalTypes, erasure.Stream.UnknownTypes, erasure.Sagas, erasure.PendingMessages, erasure.Rebuild, erasure.DeadLetters,
                    erasure.DeadLettersDeleted,
                }), IndentedJson));
                return 0;
            }
            foreach (var erasure in erasures)
                Describe(erasure, output);
            return 0;
        }));
        return erase;
    }

    static void Describe(PersonalDataErasure erasure, TextWriter output)
    {
        var result = erasure.Stream;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Erased the personal data of {result.ErasedEvents} of {result.Events} event(s) of stream '{result.StreamId}'") +
            (result.ErasedArchivedEvents > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({result.ErasedArchivedEvents} archived)") : "") +
            (result.PersonalTypes.Count > 0 ? $": {string.Join(", ", result.PersonalTypes)}" : "; none of its events has personal fields") +
            (result.SnapshotDeleted ? "; its snapshot was deleted." : "."));
        foreach (var saga in erasure.Sagas)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Erased the personal data of saga {saga.Saga} {saga.CorrelationId:D} (its row, and {saga.HistoryRows} history row(s) of what it sent)."));
        if (erasure.PendingMessages > 0)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Erased the personal data of {erasure.PendingMessages} message(s) its events caused that wait to be sent (a delayed reaction's command)."));
        if (result.UnknownTypes.Count > 0)
            output.WriteLine($"Left as they are, of types this domain does not know: {string.Join(", ", result.UnknownTypes)}; erase again with the --domain that has them.");
        if (erasure.Rebuild.Count > 0)
            output.WriteLine($"Read models that copy these personal fields still hold them; rebuild them: {string.Join(", ", erasure.Rebuild.Select(name => "platform projections rebuild " + name))}.");
        if (erasure.DeadLettersDeleted > 0)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Deleted {erasure.DeadLettersDeleted} dead letter(s) of this stream."));
        if (erasure.DeadLetters.Count > 0)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{erasure.DeadLetters.Count} dead letter(s) of this stream keep its messages as they were sent, personal data included, and a replay applies them again: ") +
                string.Join(", ", erasure.DeadLetters.Select(letter => letter.ToString("D"))) + "; erase again with --delete-dead-letters once none must run.");
    }

    static string TailLine(SqlEventStore store, EventEnvelope e)
    {
        var view = View(store, e);
        return string.Create(CultureInfo.InvariantCulture,
            $"{e.GlobalPosition,8}  {e.Timestamp:yyyy-MM-dd HH:mm:ss.fff}  {e.StreamType} {e.StreamId} v{e.StreamVersion}  {e.TypeName} {SchemaText(view)}  {view.Payload.GetRawText()}");
    }

    static string SchemaText(EventView view) =>
        view.SchemaVersion == view.ReadAsVersion
            ? $"v{view.SchemaVersion}"
            : $"v{view.SchemaVersion} (read as v{view.ReadAsVersion})";

    static EventView View(SqlEventStore store, EventEnvelope e)
    {
        var descriptor = Descriptor(store, e);
        var buffer = new ArrayBufferWriter<byte>();
        descriptor.Serialize(e.Event, buffer);
        using var payload = JsonDocument.Parse(buffer.WrittenMemory);
        return new EventView(e.GlobalPosition, e.StreamId, e.StreamType, e.StreamVersion, e.EventId, e.TypeName,
            e.SchemaVersion, descriptor.SchemaVersion, e.Timestamp,
            e.Metadata.CorrelationId, e.Metadata.CausationId, e.Metadata.UserId, payload.RootElement.Clone());
    }

    // The store decoded the envelope with this registry, so its type is known.
    static EventTypeDescriptor Descriptor(SqlEventStore store, EventEnvelope e) =>
        store.Registry.TryGet(e.TypeName, out var descriptor) ? descriptor : throw new InvalidOperationException($"event type {e.TypeName} is not registered");

    static bool Matches(EventTypeDescriptor descriptor, string filter) =>
        string.Equals(descriptor.TypeName, filter, StringComparison.OrdinalIgnoreCase)
        || string.Equals(descriptor.ClrType.Name, filter, StringComparison.OrdinalIgnoreCase);
}
