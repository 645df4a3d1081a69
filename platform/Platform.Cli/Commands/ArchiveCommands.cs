using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Outbox;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform events archive --idle-since T</c>, <c>platform stream archive &lt;id&gt;</c> and
/// <c>platform stream restore &lt;id&gt;</c>: keep the hot <c>events</c> table to the streams that
/// still move. Archived events stay in the database (<c>archived_events</c>): aggregate loads,
/// appends and projections (a rebuild included) read them; the relay does not, and only published
/// events are archived. Run <c>events archive</c> from a scheduler (cron, a Kubernetes CronJob).
/// </summary>
internal static class ArchiveCommands
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary><c>platform events archive</c>.</summary>
    public static Command EventsArchive()
    {
        var arguments = new StoreArguments();
        var idleSince = new Option<DateTimeOffset>("--idle-since")
        {
            Description = "Archive every stream with no event stored at or after this time (ISO 8601, e.g. 2025-11-28T00:00:00Z).", Required = true,
        };
        var batch = new Option<int>("--streams-per-transaction") { Description = "Streams moved per transaction.", DefaultValueFactory = _ => 1_000 };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var archive = new Command("archive",
            "Move whole streams that have been idle since a time into archived_events; loads and projections still read them, the relay does not.")
        { idleSince, batch, json };
        arguments.AddTo(archive);
        archive.SetAction((parse, ct) => arguments.RunAsync(parse, async (store, output, error) =>
        {
            var cutoff = parse.GetValue(idleSince);
            if (cutoff > DateTimeOffset.UtcNow)
            {
                error.WriteLine($"error: --idle-since {cutoff:O} is in the future; every stream would count as idle. Pass a time in the past.");
                return 1;
            }
            if (parse.GetValue(batch) < 1)
            {
                error.WriteLine("error: --streams-per-transaction must be 1 or more.");
                return 1;
            }
            var published = await store.GetCheckpointAsync(new OutboxRelayOptions().CheckpointName, ct);
            var (streams, events) = await store.ArchiveIdleStreamsAsync(cutoff, published, parse.GetValue(batch), ct);
            output.WriteLine(parse.GetValue(json)
                ? JsonSerializer.Serialize(new { Streams = streams, Events = events, PublishedUpTo = published }, Json)
                : string.Create(CultureInfo.InvariantCulture,
                    $"Archived {streams} stream(s), {events} event(s), idle since {cutoff:u} and published (relay at position {published})."));
            return 0;
        }));
        return archive;
    }

    /// <summary><c>platform stream archive &lt;id&gt;</c>.</summary>
    public static Command StreamArchive() => OneStream("archive",
        "Move one stream's events into archived_events; loads and projections still read them.",
        async (store, streamId, output, error, ct) =>
        {
            var published = await store.GetCheckpointAsync(new OutboxRelayOptions().CheckpointName, ct);
            await using (var context = store.CreateDbContext())
            {
                var last = await context.Events.Where(e => e.StreamId == streamId).MaxAsync(e => (long?)e.GlobalPosition, ct);
                if (last is null)
                {
                    error.WriteLine($"error: stream '{streamId}' has no live events ('platform stream show' lists what is stored, archived included).");
                    return 1;
                }
                if (last > published)
                {
                    error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"error: stream '{streamId}' has events the relay has not published yet (up to position {last}, relay at {published}); archive it once the relay is past them."));
                    return 1;
                }
            }
            var moved = await store.ArchiveStreamAsync(streamId, published, ct);
            output.WriteLine($"Archived {moved} event(s) of stream '{streamId}'.");
            return 0;
        });

    /// <summary><c>platform stream restore &lt;id&gt;</c>.</summary>
    public static Command StreamRestore() => OneStream("restore",
        "Move one stream's archived events back into events, at their positions (they are not published again).",
        async (store, streamId, output, error, ct) =>
        {
            var moved = await store.RestoreStreamAsync(streamId, ct);
            if (moved == 0)
            {
                error.WriteLine($"error: stream '{streamId}' has no archived events.");
                return 1;
            }
            output.WriteLine($"Restored {moved} event(s) of stream '{streamId}'.");
            return 0;
        });

    // A command on one stream, given as an argument, against the store without a domain.
    static Command OneStream(string name, string description,
        Func<Platform.EventStore.Storage.SqlEventStore, string, TextWriter, TextWriter, CancellationToken, Task<int>> action)
    {
        var arguments = new StoreArguments();
        var id = new Argument<string>("stream-id") { Description = "The stream (aggregate id)." };
        var command = new Command(name, description) { id };
        arguments.AddTo(command);
        command.SetAction((parse, ct) => arguments.RunAsync(parse, (store, output, error) => action(store, parse.GetValue(id)!, output, error, ct)));
        return command;
    }
}
