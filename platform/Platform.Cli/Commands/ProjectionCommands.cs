using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;
using Platform.Runtime.Projections;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform status</c> and <c>platform projections rebuild &lt;name&gt;</c>, against the store's
/// database: <c>--store</c>/<c>--connection</c> (or <c>Platform__Store__Provider</c>/<c>Platform__Store__ConnectionString</c>)
/// and <c>--domain</c>, the service's built assembly (e.g. <c>examples/Orders/bin/Release/net10.0/Shop.Orders.dll</c>)
/// or a generated domain's assembly-qualified type name (or <c>Platform__Domains__0</c>), which names
/// the projections and the event types to read.
/// </summary>
internal static class ProjectionCommands
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static Command Status()
    {
        var options = new DomainStoreArguments();
        var json = new Option<bool>("--json") { Description = "Print JSON: {\"relay\": {...}, \"projections\": [...], \"deadLetters\": [...], \"scheduled\": {...}, \"consumerGroups\": [...]}." };
        var config = new Option<string?>("--config") { Description = "The runtime's configuration file, for its transport (default: platform.yaml, when there is one)." };
        var command = new Command("status",
            "The outbox relay's position and what waits for it; the saga timeouts and outbox messages waiting, due and failing; each projection's checkpoint, the store's head, the lag in positions and seconds, and its state; the dead letters waiting on each endpoint; on Kafka, each consumer group's lag by partition.")
        {
            json, config,
        };
        options.AddTo(command);
        command.SetAction((parse, ct) => options.RunAsync(parse, async (store, catalog, output) =>
        {
            var statuses = await ProjectionStatusReader.ReadAsync(store, catalog.Projections, ct);
            var relay = await RelayStatusAsync(store, ct);
            var provider = store.Options.Provider == EventStoreProvider.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite;
            var letters = await new DeadLetterStore(provider, store.Options.ConnectionString).CountByEndpointAsync(ct);
            var now = DateTimeOffset.UtcNow;
            var scheduled = await new Platform.Runtime.Scheduling.ScheduledMessageStore(provider, store.Options.ConnectionString).CountAsync(now, ct);
            var oldestDueSeconds = scheduled.OldestDue is { } due ? Math.Round(Math.Max(0, (now - due).TotalSeconds), 1) : 0;
            var error = parse.InvocationConfiguration.Error;
            List<KafkaCommands.GroupLag>? groups;
            try
            {
                groups = KafkaCommands.GroupLags(parse.GetValue(config), catalog);
            }
            catch (Exception exception) when (exception is PlatformConfigurationException or InvalidOperationException)
            {
                error.WriteLine($"error: {StoreArguments.OneLine(exception.Message)}");
                return 1;
            }
            catch (Confluent.Kafka.KafkaException exception)
            {
                error.WriteLine($"error: Kafka refused: {exception.Error.Reason} ({exception.Error.Code}); check Platform:Transport:Kafka and that the cluster is up.");
                return 1;
            }
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    Relay = relay,
                    Projections = statuses.Select(s => new
                    {
                        s.Name, s.Position, s.Head, s.LagPositions, LagSeconds = Math.Round(s.LagTime.TotalSeconds, 3), s.State,
                        RebuildPosition = s.Rebuild?.Position, s.DeclarationMatches,
                    }),
                    DeadLetters = letters,
                    Scheduled = new { scheduled.Waiting, scheduled.Due, scheduled.Failing, OldestDueSeconds = oldestDueSeconds },
                    ConsumerGroups = groups ?? [],
                }, Json));
                return 0;
            }
            output.WriteLine(relay.Waiting == 0
                ? string.Create(CultureInfo.InvariantCulture, $"relay: published up to {relay.Position}, nothing waiting")
                : string.Create(CultureInfo.InvariantCulture,
                    $"relay: published up to {relay.Position} of {relay.Head}, {relay.Waiting} event(s) waiting, the oldest stored {relay.OldestWaitingSeconds:0.0} s ago"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"scheduled (saga timeouts, outbox): {scheduled.Waiting} waiting, {scheduled.Due} due, {scheduled.Failing} failing") +
                (scheduled.Due == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"; the oldest due {oldestDueSeconds:0.0} s ago") +
                    // A runtime's poller takes due rows every Sagas:PollInterval (100 ms by default).
                    (oldestDueSeconds < 30 ? "" : " (no runtime delivers them, or their deliveries fail: platform sagas show <id> lists them with their errors)")));
            output.WriteLine();
            output.WriteLine($"{"projection",-24} {"position",10} {"head",10} {"lag",8} {"lag s",9}  state");
            foreach (var s in statuses)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{s.Name,-24} {s.Position,10} {s.Head,10} {s.LagPositions,8} {s.LagTime.TotalSeconds,9:0.0}  {StateName(s.State)}{(s.Rebuild is { } rebuild ? $" (shadow at {rebuild.Position})" : "")}{(s.DeclarationMatches == false ? " (table built by another declaration: this build's runtime rebuilds it at start)" : "")}"));
            output.WriteLine();
            if (letters.Count == 0)
                output.WriteLine("dead letters: none");
            else
            {
                output.WriteLine($"{"dead letters of endpoint",-40} {"dead",8} {"requested",10}  oldest failed");
                foreach (var endpoint in letters)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{endpoint.Endpoint,-40} {endpoint.Dead,8} {endpoint.ReplayRequested,10}  {endpoint.OldestFailedAt:u}"));
            }
            if (groups is not null)
            {
                output.WriteLine();
                output.WriteLine($"{"consumer group",-40} {"lag",8}  partitions behind");
                foreach (var group in groups)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{group.Group,-40} {group.Lag,8}  {string.Join(", ", group.Partitions.Where(p => p.Lag > 0).Select(p => $"{p.Topic}[{p.Partition}] {p.Lag}"))}"));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>What <c>status</c> says of the outbox relay: its checkpoint, the head, and the events stored after it.</summary>
    sealed record RelayStatus(long Position, long Head, long Waiting, double OldestWaitingSeconds);

    static async Task<RelayStatus> RelayStatusAsync(SqlEventStore store, CancellationToken ct)
    {
        var position = await store.GetCheckpointAsync(new Platform.EventStore.Outbox.OutboxRelayOptions().CheckpointName, ct);
        var head = await store.GetHeadPositionAsync(ct);
        var (waiting, oldest) = await store.CountEventsAsync(position, Math.Max(position, head), ct);
        var age = oldest is { } stored ? Math.Round(Math.Max(0, (DateTimeOffset.UtcNow - stored).TotalSeconds), 3) : 0;
        return new RelayStatus(position, head, waiting, age);
    }

    public static Command Projections()
    {
        var options = new DomainStoreArguments();
        var name = new Argument<string>("projection") { Description = "The projection to rebuild, e.g. OrderSummary." };
        var batch = new Option<int>("--batch-size") { Description = "Events per shadow transaction.", DefaultValueFactory = _ => ProjectionRebuilder.DefaultBatchSize };
        var rebuild = new Command("rebuild",
            "Rebuild a projection into a shadow table from position 0 while the live table keeps serving, then swap it in atomically.")
        {
            name, batch,
        };
        options.AddTo(rebuild);
        rebuild.SetAction((parse, ct) => options.RunAsync(parse, async (store, catalog, output) =>
        {
            var projectionName = parse.GetValue(name)!;
            var projection = catalog.Projections.FirstOrDefault(p => p.Name == projectionName);
            if (projection is null)
            {
                parse.InvocationConfiguration.Error.WriteLine(
                    $"error: no projection '{projectionName}' in the domain; pass one of: {string.Join(", ", catalog.Projections.Select(p => p.Name))}.");
                return 1;
            }
            var provider = store.Options.Provider == EventStoreProvider.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite;
            var line = new ProgressLine(output);
            RebuildResult result;
            try
            {
                result = await new ProjectionRebuilder(store, provider, parse.GetValue(batch)).RebuildAsync(projection, line, ct);
            }
            catch (ProjectionRebuildRunningException running)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {running.Message}.");
                return 1;
            }
            line.Finish();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Projection}: rebuilt from {result.EventsRead} events in {result.Elapsed.TotalSeconds:0.0} s and swapped in at position {result.SwappedAtPosition}; the live projection continues from there."));
            return 0;
        }));
        var resumeName = new Argument<string>("projection") { Description = "The parked projection, e.g. OrderSummary." };
        var resume = new Command("resume",
            "Release a parked projection after the fix: the running runtime continues from the event it failed on within ResumePollInterval.")
        {
            resumeName,
        };
        options.AddTo(resume);
        resume.SetAction((parse, ct) => options.RunAsync(parse, async (store, catalog, output) =>
        {
            var projectionName = parse.GetValue(resumeName)!;
            if (catalog.Projections.All(p => p.Name != projectionName))
            {
                parse.InvocationConfiguration.Error.WriteLine(
                    $"error: no projection '{projectionName}' in the domain; pass one of: {string.Join(", ", catalog.Projections.Select(p => p.Name))}.");
                return 1;
            }
            var flag = ProjectionEngine.ParkedFlagName(projectionName);
            var position = await store.GetCheckpointAsync(flag, ct);
            await using var db = store.CreateDbContext();
            if (position == 0 || await db.SubscriptionCheckpoints.Where(c => c.Name == flag).ExecuteDeleteAsync(ct) == 0)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: projection '{projectionName}' is not parked; see platform status.");
                return 1;
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{projectionName}: released; the runtime retries it from position {position} (platform status shows it catching up)."));
            return 0;
        }));

        var command = new Command("projections", "Operate the projection engine's read models.");
        command.Subcommands.Add(rebuild);
        command.Subcommands.Add(resume);
        return command;
    }

    /// <summary>One progress line, redrawn in place on a terminal and printed once a second otherwise.</summary>
    sealed class ProgressLine(TextWriter output) : IProgress<RebuildProgress>
    {
        readonly bool _inPlace = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        DateTime _printed = DateTime.MinValue;
        string _last = "";

        public void Report(RebuildProgress value)
        {
            _last = string.Create(CultureInfo.InvariantCulture,
                $"{value.Projection}: {value.EventsRead} events, position {value.Position}/{value.TargetPosition}, {value.EventsPerSecond:0} events/s, ETA {(value.Eta is { } eta ? eta.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "?")}");
            if (_inPlace)
                output.Write("\r" + _last.PadRight(100));
            else if (DateTime.UtcNow - _printed >= TimeSpan.FromSeconds(1))
            {
                output.WriteLine(_last);
                _printed = DateTime.UtcNow;
            }
        }

        public void Finish()
        {
            if (_inPlace)
                output.WriteLine();
            else if (_last.Length > 0)
                output.WriteLine(_last);
        }
    }

    static string StateName(ProjectionState state) => JsonNamingPolicy.KebabCaseLower.ConvertName(state.ToString());
}
