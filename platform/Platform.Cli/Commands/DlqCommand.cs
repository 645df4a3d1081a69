using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform dlq list|show|replay|discard</c>: the messages consumers gave up on, in the store's
/// <c>message_dead_letters</c> table. The store comes from <c>--store</c>/<c>--connection</c> or, like
/// the runtime, from <c>Platform__Store__Provider</c>/<c>Platform__Store__ConnectionString</c>.
/// <c>replay</c> only marks the letter: the running runtime re-sends it to its queue (the CLI has no
/// bus, and an in-memory bus is reachable only from inside the runtime).
/// </summary>
internal static class DlqCommand
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static Command Create()
    {
        var storeArguments = new StoreArguments();
        var store = storeArguments.Store;
        var connection = storeArguments.Connection;
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var all = new Option<bool>("--all") { Description = "Also list discarded letters." };
        var reason = new Option<string?>("--reason") { Description = "Why the letter is discarded (kept with it)." };

        var list = new Command("list", "List dead letters, oldest first.") { store, connection, json, all };
        list.SetAction((parse, ct) => RunAsync(parse, storeArguments, parse.InvocationConfiguration.Output, async (letters, output) =>
        {
            var rows = await letters.ListAsync(parse.GetValue(all), ct);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(rows, Json));
                return 0;
            }
            foreach (var letter in rows)
                output.WriteLine(string.Join("  ", letter.Id.ToString("D"), letter.FailedAt.ToString("u", CultureInfo.InvariantCulture),
                    letter.State, letter.Consumer, letter.EventType ?? letter.MessageType.Split(',')[0],
                    letter.StreamId is null ? "-" : $"{letter.StreamId} v{letter.StreamVersion}",
                    $"{letter.Attempts} attempts", $"{letter.ExceptionType}: {OneLine(letter.ExceptionMessage)}"));
            output.WriteLine($"{rows.Count} dead letter(s)");
            return 0;
        }));

        var showId = new Argument<string>("id") { Description = "The dead letter's id (from list)." };
        var show = new Command("show", "Show one dead letter with its headers, payload and exception.") { showId, store, connection, json };
        show.SetAction((parse, ct) => RunAsync(parse, storeArguments, parse.InvocationConfiguration.Output, async (letters, output) =>
        {
            if (!TryId(parse.GetValue(showId), output, out var id))
                return 1;
            var letter = await letters.GetAsync(id, ct);
            if (letter is null)
                return NotFound(output, id);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(letter, Json));
                return 0;
            }
            output.WriteLine($"id:        {letter.Id:D}");
            output.WriteLine($"state:     {letter.State}{(letter.DiscardReason is null ? "" : " (" + letter.DiscardReason + ")")}");
            output.WriteLine($"consumer:  {letter.Consumer} on {letter.Endpoint}");
            output.WriteLine($"message:   {letter.MessageId} {letter.MessageType}");
            if (letter.StreamId is not null)
                output.WriteLine($"event:     {letter.EventType} stream {letter.StreamId} v{letter.StreamVersion} at {letter.GlobalPosition}");
            output.WriteLine($"failed:    {letter.FailedAt:O} after {letter.Attempts} attempts");
            output.WriteLine($"headers:   {letter.Headers}");
            output.WriteLine($"payload:   {letter.Payload}");
            output.WriteLine($"exception: {letter.ExceptionDetail}");
            return 0;
        }));

        var replayIds = new Argument<string[]>("id")
        {
            Description = "The dead letters' ids (from list); a stream's letters may be given in any order, the runtime sends them in version order.",
            Arity = ArgumentArity.OneOrMore,
        };
        var replay = new Command("replay", "Ask the running runtime to deliver the messages to their consumers again.") { replayIds, store, connection };
        replay.SetAction((parse, ct) => RunAsync(parse, storeArguments, parse.InvocationConfiguration.Output, async (letters, output) =>
        {
            // Every id is checked before any letter is marked: a typo does not replay half a stream.
            var ids = new List<Guid>();
            foreach (var text in parse.GetValue(replayIds) ?? [])
            {
                if (!TryId(text, output, out var id))
                    return 1;
                ids.Add(id);
            }
            // In one transaction: the runtime picks up all of them in the same poll, in the store's order.
            var requested = await letters.RequestReplayAsync(ids, ct);
            var code = 0;
            foreach (var id in ids)
            {
                if (requested.Contains(id))
                    output.WriteLine($"{id:D}: replay requested; the runtime re-sends it within Platform:Retries:ReplayPollInterval and removes it.");
                else
                    code = NotFound(output, id);
            }
            return code;
        }));

        var discardId = new Argument<string>("id") { Description = "The dead letter's id (from list)." };
        var discard = new Command("discard", "Never deliver the message; keep it with the reason.") { discardId, store, connection, reason };
        discard.SetAction((parse, ct) => RunAsync(parse, storeArguments, parse.InvocationConfiguration.Output, async (letters, output) =>
        {
            if (!TryId(parse.GetValue(discardId), output, out var id))
                return 1;
            var why = parse.GetValue(reason);
            if (string.IsNullOrWhiteSpace(why))
            {
                output.WriteLine("error: pass --reason \"...\" saying why the message is discarded.");
                return 1;
            }
            if (!await letters.DiscardAsync(id, why, ct))
                return NotFound(output, id);
            output.WriteLine($"{id:D}: discarded ({why}).");
            return 0;
        }));

        return new Command("dlq", "Messages consumers gave up on after their retries: list, show, replay, discard.") { list, show, replay, discard };
    }

    static async Task<int> RunAsync(ParseResult parse, StoreArguments arguments, TextWriter output,
        Func<DeadLetterStore, TextWriter, Task<int>> action)
    {
        if (!arguments.TryResolve(parse, output, out var kind, out var connectionString))
            return 1;
        try
        {
            return await action(new DeadLetterStore(kind, connectionString), output);
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException or ArgumentException)
        {
            output.WriteLine($"error: the store could not be used ({OneLine(exception.Message)}); check --store and --connection.");
            return 1;
        }
    }

    static bool TryId(string? text, TextWriter output, out Guid id)
    {
        if (Guid.TryParse(text, out id))
            return true;
        output.WriteLine($"error: '{text}' is not a dead letter id; copy one from 'platform dlq list'.");
        return false;
    }

    static int NotFound(TextWriter output, Guid id)
    {
        output.WriteLine($"error: no waiting dead letter {id:D}; run 'platform dlq list --all' to see what there is.");
        return 1;
    }

    static string OneLine(string text) => StoreArguments.OneLine(text);
}
