using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Platform.EventStore.Outbox;
using Platform.EventStore.Storage;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform relay republish --from-position N | --from-time T</c>: moves the outbox relay's
/// checkpoint back so that the running relay publishes those events again, for consumers that lost
/// them (a queue deleted or purged, a Kafka topic past its retention, a store restored from a
/// backup). Consumers drop what they processed before by their inbox, so it refuses to go back past
/// what the message inbox may have forgotten (<c>Platform:Inbox:RetainFor</c>) unless <c>--force</c>.
/// </summary>
internal static class RelayCommand
{
    public static Command Create()
    {
        var arguments = new StoreArguments();
        var fromPosition = new Option<long?>("--from-position") { Description = "The first global position to publish again ('platform events tail' shows positions)." };
        var fromTime = new Option<DateTimeOffset?>("--from-time") { Description = "Publish again every event stored at or after this time (ISO 8601, e.g. 2026-11-28T09:00:00Z)." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var force = new Option<bool>("--force") { Description = "Also republish events older than the message inbox remembers: sagas, reactions and command consumers may run them again." };
        var republish = new Command("republish",
            "Move the outbox relay back so that it publishes stored events again; consumers skip what they processed already.") { fromPosition, fromTime, force, json };
        arguments.AddTo(republish);
        republish.SetAction(async (parse, ct) =>
        {
            var (output, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            var (position, time) = (parse.GetValue(fromPosition), parse.GetValue(fromTime));
            if (position is null == time is null)
            {
                error.WriteLine("error: pass one of --from-position N or --from-time T.");
                return 1;
            }
            if (position < 1)
            {
                error.WriteLine($"error: --from-position {position} is not a position; positions start at 1.");
                return 1;
            }
            // No event is decoded here: the store needs no domain.
            return await arguments.RunAsync(parse, (store, _, _) =>
                RepublishAsync(store, position, time, parse.GetValue(force), parse.GetValue(json), output, error, ct));
        });
        return new Command("relay", "The outbox relay, which publishes stored events to the transport.") { republish };
    }

    /// <summary>What <c>--json</c> prints: the relay's checkpoint before and after, and what it publishes again.</summary>
    sealed record Republished(long Before, long After, long FromPosition, long Events, DateTimeOffset? FirstStored, long Archived);

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    static async Task<int> RepublishAsync(SqlEventStore store, long? position, DateTimeOffset? time, bool force, bool asJson,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        var checkpointName = new OutboxRelayOptions().CheckpointName;
        var published = await store.GetCheckpointAsync(checkpointName, ct);
        var from = position ?? await store.FirstPositionAtOrAfterAsync(time!.Value, ct) ?? published + 1;
        if (from > published)
        {
            if (asJson)
            {
                output.WriteLine(JsonSerializer.Serialize(new Republished(published, published, from, 0, null, 0), Json));
                return 0;
            }
            output.WriteLine($"The relay has published up to position {published}; nothing from position {from} on was published yet, so nothing to republish.");
            return 0;
        }
        var (count, firstStored) = await store.CountEventsAsync(from - 1, published, ct);
        var archived = await store.CountArchivedEventsAsync(from - 1, published, ct);
        if (!force && firstStored is { } first && await store.GetInboxForgetsBeforeAsync(ct) is { } forgets && first < forgets)
        {
            var safe = await store.FirstPositionAtOrAfterAsync(forgets, ct);
            var safePosition = safe is { } p ? string.Create(CultureInfo.InvariantCulture, $" (position {p})") : "";
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"error: the events from position {from} on were stored from {first:u}, before {forgets:u}, and the message inbox may have forgotten them (Platform:Inbox:RetainFor): sagas, reactions and command consumers would run them again. Republish from --from-time {forgets:O}{safePosition} or later, or pass --force to accept that."));
            return 1;
        }
        var (before, after) = await OutboxRelay.RewindAsync(store, from, checkpointName, ct);
        if (asJson)
        {
            output.WriteLine(JsonSerializer.Serialize(new Republished(before, after, from, count, firstStored, archived), Json));
            return 0;
        }
        var storedFrom = firstStored is { } stored ? string.Create(CultureInfo.InvariantCulture, $" (stored from {stored:u})") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Moved the relay from position {before} back to {after}: {count} event(s) from position {from} on{storedFrom} will be published again by the running relay, or by the next one to start."));
        if (archived > 0)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{archived} archived event(s) in that range are not published again: the relay reads live events only. 'platform stream restore <id>' moves a stream's events back first, at their positions, if consumers must see them."));
        return 0;
    }
}
