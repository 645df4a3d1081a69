using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Commands;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform stream command &lt;Command&gt; &lt;json&gt; --domain X</c>: an operator's command, run on its
/// aggregate in the store as the runtime runs one (<see cref="CommandDispatcher"/>: its rules, its
/// events appended with the outbox, which the running runtime's relay publishes). Its events record
/// who ran it (<c>--user</c>), and its id (<c>--id</c>, printed) makes running it again harmless:
/// a command whose events are stored is answered, not run again. <c>--expected-version</c> runs it
/// only on the version the operator looked at.
/// </summary>
internal static class StreamCommand
{
    // As commands travel on the bus: camelCase names, enum members by name.
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    static readonly JsonSerializerOptions IndentedJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create()
    {
        var arguments = new DomainStoreArguments();
        var name = new Argument<string>("command") { Description = "The command's name (e.g. ShipOrder) or full type name (Shop.Orders.ShipOrder)." };
        var payload = new Argument<string>("json") { Description = "The command as JSON, as it travels on the bus: { \"orderId\": \"...\", \"trackingNumber\": \"T-1\" }." };
        var id = new Option<Guid?>("--id")
        {
            Description = "The command's id (default: a new one, printed). Run again with the same id, a command whose events are stored is answered, not run again.",
        };
        var expected = new Option<long?>("--expected-version")
        {
            Description = "The aggregate's version you looked at ('platform stream show'): the command runs only on that version.",
        };
        var user = new Option<string?>("--user") { Description = "Who runs it, stored with its events ($meta.userId). Default: cli:<the system user>." };
        var correlation = new Option<string?>("--correlation-id") { Description = "The business flow it belongs to (default: its command id)." };
        var json = new Option<bool>("--json") { Description = "Print the outcome as JSON." };
        var command = new Command("command",
            "Run a command on its aggregate in the store, as the runtime does (its rules, its events through the outbox): an operator's fix, recorded with who ran it.")
        { name, payload, id, expected, user, correlation, json };
        arguments.AddTo(command);
        command.SetAction((parse, ct) => arguments.RunAsync(parse, async (store, catalog, output) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var wanted = parse.GetValue(name)!;
            var types = catalog.CommandTypes.Where(t => t.FullName == wanted || t.Name == wanted).ToArray();
            if (types.Length != 1)
            {
                error.WriteLine(types.Length == 0
                    ? $"error: no aggregate of the domain handles a command named '{wanted}'; its commands: {string.Join(", ", catalog.CommandTypes.Select(t => t.Name))}."
                    : $"error: '{wanted}' names {types.Length} commands ({string.Join(", ", types.Select(t => t.FullName))}); give the full name.");
                return 1;
            }
            object message;
            try
            {
                message = JsonSerializer.Deserialize(parse.GetValue(payload)!, types[0], Json)
                          ?? throw new JsonException("the JSON is null");
            }
            catch (JsonException exception)
            {
                error.WriteLine($"error: the JSON is not a {types[0].Name}: {StoreArguments.OneLine(exception.Message)}");
                return 1;
            }
            var context = new CommandContext(parse.GetValue(id) ?? Guid.CreateVersion7(), parse.GetValue(correlation),
                parse.GetValue(user) ?? "cli:" + Environment.UserName, parse.GetValue(expected));
            var dispatcher = new CommandDispatcher(catalog, store, new PlatformOptions(), NullLogger<CommandDispatcher>.Instance);
            try
            {
                var accepted = await dispatcher.DispatchAsync(message, context, ct);
                var aggregate = catalog.GetAggregateFor(types[0]).AggregateType;
                if (parse.GetValue(json))
                {
                    output.WriteLine(JsonSerializer.Serialize(new
                    {
                        Command = types[0].Name, Aggregate = aggregate, accepted.StreamId, accepted.Version, accepted.Position, accepted.CommandId, accepted.Duplicate,
                        context.UserId,
                    }, IndentedJson));
                    return 0;
                }
                output.WriteLine(accepted.Duplicate
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"{types[0].Name} {accepted.CommandId:D} was run before: {aggregate} '{accepted.StreamId}' has its events up to version {accepted.Version} (global position {accepted.Position}); not run again.")
                    : string.Create(CultureInfo.InvariantCulture,
                        $"{types[0].Name} accepted by {aggregate} '{accepted.StreamId}': now at version {accepted.Version} (global position {accepted.Position}), by {context.UserId}; command id {accepted.CommandId:D} (pass it as --id to run it again safely)."));
                return 0;
            }
            catch (Exception refused) when (refused is CommandRejectedException or CommandValidationException)
            {
                // Nothing stored: the aggregate's rules, its fields' constraints, or the version looked at.
                error.WriteLine($"error: {StoreArguments.OneLine(refused.Message)}; nothing was stored.");
                return 1;
            }
        }));
        return command;
    }
}
