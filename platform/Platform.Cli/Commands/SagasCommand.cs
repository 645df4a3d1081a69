using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Runtime.Sagas;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform sagas list|show|retry|resolve</c>: the sagas in a runtime's store (<c>saga_instances</c>,
/// <c>saga_history</c>, <c>scheduled_messages</c>). The store comes from <c>--store</c>/<c>--connection</c>
/// or, like the runtime, from <c>Platform__Store__Provider</c>/<c>Platform__Store__ConnectionString</c>.
/// <c>retry</c> writes the messages to send again into <c>scheduled_messages</c>; the running runtime delivers them.
/// </summary>
internal static class SagasCommand
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static Command Create()
    {
        var storeArguments = new StoreArguments();
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var state = new Option<string?>("--state") { Description = "Only sagas in this state, e.g. CompensationFailed." };
        var all = new Option<bool>("--all") { Description = "Also list sagas an operator resolved." };
        var sagaName = new Option<string?>("--saga") { Description = "The saga's name, when several kinds of saga share the id." };
        var reason = new Option<string?>("--reason") { Description = "What the operator did (kept with the saga)." };

        var kind = new Option<string?>("--saga") { Description = "Only sagas of this kind, e.g. OrderFulfilment." };
        var list = new Command("list", "List sagas, least recently changed first.") { kind, state, all, json };
        storeArguments.AddTo(list);
        list.SetAction((parse, ct) => RunAsync(parse, storeArguments, async (sagas, output) =>
        {
            var rows = await sagas.ListAsync(parse.GetValue(state), parse.GetValue(all), parse.GetValue(kind), ct);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(rows.Select(r => new
                {
                    r.SagaName, r.CorrelationId, r.CurrentState, r.Version, r.CreatedAt, r.UpdatedAt, r.ResolvedAt, r.Resolution,
                }), Json));
                return 0;
            }
            foreach (var row in rows)
                output.WriteLine(string.Join("  ", row.CorrelationId.ToString("D"), row.SagaName, row.CurrentState, "v" + row.Version.ToString(CultureInfo.InvariantCulture),
                    row.UpdatedAt.ToString("u", CultureInfo.InvariantCulture), row.ResolvedAt is null ? "" : "resolved: " + row.Resolution));
            output.WriteLine($"{rows.Count} saga(s)");
            return 0;
        }));

        var showId = new Argument<string>("id") { Description = "The saga's correlation id." };
        var show = new Command("show", "Show a saga: its state, data, history and waiting messages.") { showId, json };
        storeArguments.AddTo(show);
        show.SetAction((parse, ct) => RunAsync(parse, storeArguments, async (sagas, output) =>
        {
            if (!TryId(parse.GetValue(showId), output, out var id))
                return 1;
            var found = await sagas.GetAsync(id, ct);
            if (found.Count == 0)
                return NotFound(output, id);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(found, Json));
                return 0;
            }
            foreach (var saga in found)
            {
                var instance = saga.Instance;
                output.WriteLine($"saga:      {instance.SagaName} {instance.CorrelationId:D}");
                output.WriteLine($"state:     {instance.CurrentState} (version {instance.Version})" +
                    (instance.ResolvedAt is null ? "" : $", resolved {instance.ResolvedAt:u}: {instance.Resolution}"));
                output.WriteLine($"started:   {instance.CreatedAt:O}");
                output.WriteLine($"changed:   {instance.UpdatedAt:O}");
                output.WriteLine($"data:      {instance.Data}");
                output.WriteLine("history:");
                foreach (var step in saga.History)
                    output.WriteLine($"  v{step.Version}  {step.At:O}  {step.FromState ?? "(start)"} -> {step.ToState}  by {step.MessageType} {step.MessageId}");
                output.WriteLine("waiting:");
                foreach (var message in saga.Waiting)
                    output.WriteLine($"  {message.DueAt:O}  {message.Kind} {message.MessageType.Split(',')[0]} {(message.TokenId is null ? "(outbox)" : "(timeout)")}" +
                        (message.LastError is null ? "" : $"  {message.Attempts} failed: {OneLine(message.LastError)}"));
            }
            return 0;
        }));

        var retryId = new Argument<string>("id") { Description = "The saga's correlation id." };
        var retry = new Command("retry", "Run the step that led the saga into its current state again (e.g. a failed compensation).") { retryId, sagaName };
        storeArguments.AddTo(retry);
        retry.SetAction((parse, ct) => RunAsync(parse, storeArguments, async (sagas, output) =>
        {
            if (!TryId(parse.GetValue(retryId), output, out var id))
                return 1;
            var (back, messages, timeouts) = await sagas.RetryAsync(id, parse.GetValue(sagaName), ct);
            output.WriteLine($"{id:D}: back in {back}; {messages} message(s) queued" +
                (timeouts == 0 ? "" : $" and {timeouts} timeout(s) scheduled again") + ", delivered by the running runtime.");
            return 0;
        }));

        var resolveId = new Argument<string>("id") { Description = "The saga's correlation id." };
        var resolve = new Command("resolve", "Mark a saga resolved by hand; it leaves 'sagas list' and keeps its history.") { resolveId, sagaName, reason };
        storeArguments.AddTo(resolve);
        resolve.SetAction((parse, ct) => RunAsync(parse, storeArguments, async (sagas, output) =>
        {
            if (!TryId(parse.GetValue(resolveId), output, out var id))
                return 1;
            var why = parse.GetValue(reason);
            if (string.IsNullOrWhiteSpace(why))
            {
                output.WriteLine("error: pass --reason \"...\" saying what was done by hand.");
                return 1;
            }
            var cancelled = await sagas.ResolveAsync(id, why, parse.GetValue(sagaName), ct);
            output.WriteLine($"{id:D}: resolved ({why})" + (cancelled == 0 ? "." : $"; {cancelled} pending timeout(s) cancelled."));
            return 0;
        }));

        return new Command("sagas", "Sagas in the store: list, show, retry, resolve.") { list, show, retry, resolve };
    }

    static async Task<int> RunAsync(ParseResult parse, StoreArguments arguments, Func<SagaOperations, TextWriter, Task<int>> action)
    {
        var output = parse.InvocationConfiguration.Output;
        if (!arguments.TryResolve(parse, output, out var kind, out var connectionString))
            return 1;
        try
        {
            return await action(new SagaOperations(kind, connectionString), output);
        }
        catch (InvalidOperationException exception)
        {
            output.WriteLine($"error: {OneLine(exception.Message)}");
            return 1;
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or ArgumentException)
        {
            output.WriteLine($"error: the store could not be used ({OneLine(exception.Message)}); check --store and --connection.");
            return 1;
        }
    }

    static bool TryId(string? text, TextWriter output, out Guid id)
    {
        if (Guid.TryParse(text, out id))
            return true;
        output.WriteLine($"error: '{text}' is not a saga id; copy one from 'platform sagas list'.");
        return false;
    }

    static int NotFound(TextWriter output, Guid id)
    {
        output.WriteLine($"error: no saga {id:D}; run 'platform sagas list --all' to see what there is.");
        return 1;
    }

    static string OneLine(string text) => StoreArguments.OneLine(text);
}
