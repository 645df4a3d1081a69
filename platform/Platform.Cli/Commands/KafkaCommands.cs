using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;
using Platform.Runtime.Kafka;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform kafka lag|reset-offsets</c>: a consumer group's position on the event topics. Each
/// endpoint of the runtime (consumer, saga, reaction) is a group named after its queue, e.g.
/// <c>platform-saga-orderfulfilment</c>. The cluster and its security settings come from the
/// runtime's configuration, read as <c>platform run</c> reads it (<c>platform.yaml</c>, then
/// <c>appsettings.json</c>, then <c>Platform__Transport__Kafka__*</c> environment variables), so
/// the commands reach a cluster with SASL or TLS as the runtime does; <c>--bootstrap-servers</c>
/// overrides the servers.
/// </summary>
internal static class KafkaCommands
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    internal sealed record PartitionLag(string Topic, int Partition, long? Committed, long High, long Lag);

    /// <summary>A consumer group's lag: the sum over its partitions, and each partition's.</summary>
    internal sealed record GroupLag(string Group, long Lag, IReadOnlyList<PartitionLag> Partitions);

    public static Command Create()
    {
        var servers = new Option<string?>("--bootstrap-servers") { Description = "The cluster (default: the runtime's, Platform:Transport:Kafka:BootstrapServers)." };
        var config = new Option<string?>("--config") { Description = "The runtime's configuration file (default: platform.yaml, when there is one)." };
        var group = new Option<string>("--group") { Description = "The consumer group: the endpoint's queue name, e.g. platform-saga-orderfulfilment.", Required = true };
        var topics = new Option<string>("--topics") { Description = "Regular expression of the topics (default: the event topics, ^events\\..+).", DefaultValueFactory = _ => @"^events\..+" };
        var json = new Option<bool>("--json") { Description = "Print JSON." };

        var lag = new Command("lag", "The group's committed offset, the end of each partition and the lag between them.") { servers, config, group, topics, json };
        lag.SetAction(parse => Run(parse, servers, config, (kafka, error) =>
        {
            var rows = Lag(kafka, parse.GetValue(group)!, parse.GetValue(topics)!);
            Print(parse, rows, parse.GetValue(json));
            return 0;
        }));

        var earliest = new Option<bool>("--to-earliest") { Description = "Back to the first offset each partition still holds (replays the retained history)." };
        var datetime = new Option<string?>("--to-datetime") { Description = "To the first record at or after this time (ISO 8601, e.g. 2026-11-26T09:00:00Z); the end where there is none." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the new offsets without committing them." };
        var reset = new Command("reset-offsets",
            "Move the group's committed offsets (the group must have no running members: stop its runtime instances first); the inbox skips what was processed before.")
        {
            servers, config, group, topics, earliest, datetime, dryRun, json,
        };
        reset.SetAction(parse => Run(parse, servers, config, (kafka, error) =>
        {
            var toEarliest = parse.GetValue(earliest);
            var to = parse.GetValue(datetime);
            if (toEarliest == (to is not null))
            {
                error.WriteLine("error: pass exactly one of --to-earliest and --to-datetime <time>.");
                return 1;
            }
            DateTimeOffset? at = null;
            if (to is not null)
            {
                if (!DateTimeOffset.TryParse(to, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                {
                    error.WriteLine($"error: '{to}' is not a time; pass ISO 8601, e.g. 2026-11-26T09:00:00Z.");
                    return 1;
                }
                at = parsed;
            }
            var groupId = parse.GetValue(group)!;
            var offsets = Reset(kafka, groupId, parse.GetValue(topics)!, at, parse.GetValue(dryRun), out var problem);
            if (problem is not null)
            {
                error.WriteLine(problem);
                return 1;
            }
            parse.InvocationConfiguration.Output.WriteLine(parse.GetValue(dryRun)
                ? $"{groupId}: would move {offsets} partition(s); nothing committed (--dry-run)."
                : $"{groupId}: moved {offsets} partition(s).");
            Print(parse, Lag(kafka, groupId, parse.GetValue(topics)!), parse.GetValue(json));
            return 0;
        }));

        var command = new Command("kafka", "Consumer groups of the Kafka transport: lag and offset resets.");
        command.Subcommands.Add(lag);
        command.Subcommands.Add(reset);
        return command;
    }

    /// <summary>The runtime's Kafka settings, read as <c>platform run</c> reads them.</summary>
    /// <param name="file">The configuration file given, or null for <c>platform.yaml</c> when there is one.</param>
    /// <param name="servers">The servers given on the command line, or null.</param>
    /// <exception cref="PlatformConfigurationException">The file is malformed.</exception>
    /// <exception cref="InvalidOperationException">A setting is refused.</exception>
    internal static PlatformKafkaOptions Settings(string? file, string? servers)
    {
        var options = new PlatformKafkaOptions();
        RuntimeConfiguration(file).GetSection(PlatformYamlConfiguration.Section + ":Transport:Kafka").Bind(options);
        if (!string.IsNullOrWhiteSpace(servers))
            options.BootstrapServers = servers;
        Check(options);
        return options;
    }

    static void Check(PlatformKafkaOptions options)
    {
        KafkaClients.CheckOwnSettings(options);
        KafkaClients.CheckWithLibrdkafka(options);
    }

    /// <summary>
    /// The runtime's configuration as <c>platform run</c> reads it: the file (or <c>platform.yaml</c>
    /// when there is one), then <c>appsettings.json</c>, then the environment.
    /// </summary>
    /// <param name="file">The configuration file given, or null.</param>
    internal static IConfiguration RuntimeConfiguration(string? file) =>
        new ConfigurationBuilder().AddRuntimeConfiguration(file ?? "platform.yaml", optional: file is null).Build();

    /// <summary>
    /// For <c>platform status</c>: the lag of the consumer group of each of the runtime's endpoints
    /// that <paramref name="catalog"/> gives (the command queue, sagas, reactions) on the topics it
    /// subscribes to, or null when the runtime's transport is not Kafka.
    /// </summary>
    /// <param name="file">The configuration file given, or null.</param>
    /// <param name="catalog">The service's domain.</param>
    /// <exception cref="PlatformConfigurationException">The file is malformed.</exception>
    /// <exception cref="InvalidOperationException">A setting is refused.</exception>
    /// <exception cref="KafkaException">The cluster could not be asked.</exception>
    internal static List<GroupLag>? GroupLags(string? file, DomainCatalog catalog)
    {
        var options = new PlatformOptions();
        RuntimeConfiguration(file).GetSection(PlatformYamlConfiguration.Section).Bind(options);
        if (options.Transport.Kind != TransportKind.Kafka)
            return null;
        var kafka = options.Transport.Kafka;
        if (string.IsNullOrWhiteSpace(kafka.BootstrapServers))
            throw new InvalidOperationException("the runtime is on Kafka but Platform:Transport:Kafka:BootstrapServers is empty; set it as for the runtime.");
        Check(kafka);
        var topology = new KafkaTopology(options);
        return KafkaTopology.Endpoints(options, catalog).Select(endpoint =>
        {
            // The event topics' pattern as the group subscribes to it, and each named topic exactly.
            var pattern = string.Join('|', topology.SubscriptionFor(endpoint)
                .Select(topic => topic.StartsWith('^') ? $"(?:{topic})" : $"^{Regex.Escape(topic)}$"));
            var partitions = Lag(kafka, endpoint.Queue, pattern);
            return new GroupLag(endpoint.Queue, partitions.Sum(p => p.Lag), partitions);
        }).ToList();
    }

    static int Run(ParseResult parse, Option<string?> servers, Option<string?> file, Func<PlatformKafkaOptions, TextWriter, int> action)
    {
        var error = parse.InvocationConfiguration.Error;
        PlatformKafkaOptions kafka;
        try
        {
            kafka = Settings(parse.GetValue(file), parse.GetValue(servers));
        }
        catch (Exception exception) when (exception is PlatformConfigurationException or InvalidOperationException or FileNotFoundException)
        {
            error.WriteLine($"error: {exception.Message}");
            return 1;
        }
        if (string.IsNullOrWhiteSpace(kafka.BootstrapServers))
        {
            error.WriteLine("error: no Kafka cluster; pass --bootstrap-servers host:9092 or set Platform:Transport:Kafka:BootstrapServers as for the runtime.");
            return 1;
        }
        try
        {
            return action(kafka, error);
        }
        catch (KafkaException exception)
        {
            error.WriteLine($"error: Kafka refused: {exception.Error.Reason} ({exception.Error.Code}); check --bootstrap-servers and that the cluster is up.");
            return 1;
        }
        catch (RegexParseException exception)
        {
            error.WriteLine($"error: --topics is not a regular expression: {exception.Message}");
            return 1;
        }

    }

    static List<TopicPartition> Partitions(IAdminClient admin, string pattern)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant);
        return admin.GetMetadata(Timeout).Topics
            .Where(t => regex.IsMatch(t.Topic) && !t.Error.IsError)
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
            .OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition.Value)
            .ToList();
    }

    static IConsumer<string, byte[]> Consumer(PlatformKafkaOptions kafka, string group)
    {
        var config = KafkaClients.Consumer(kafka);
        config.GroupId = group;
        config.EnableAutoCommit = false;
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        return new ConsumerBuilder<string, byte[]>(config).Build();
    }

    static IAdminClient Admin(PlatformKafkaOptions kafka) => new AdminClientBuilder(KafkaClients.Config<AdminClientConfig>(kafka)).Build();

    static List<PartitionLag> Lag(PlatformKafkaOptions kafka, string group, string pattern)
    {
        using var admin = Admin(kafka);
        var partitions = Partitions(admin, pattern);
        using var consumer = Consumer(kafka, group);
        var committed = partitions.Count == 0 ? [] : consumer.Committed(partitions, Timeout);
        return committed.Select(c =>
        {
            var watermarks = consumer.QueryWatermarkOffsets(c.TopicPartition, Timeout);
            long? position = c.Offset == Offset.Unset ? null : c.Offset.Value;
            var lag = watermarks.High.Value - (position ?? watermarks.Low.Value);
            return new PartitionLag(c.Topic, c.Partition.Value, position, watermarks.High.Value, Math.Max(0, lag));
        }).ToList();
    }

    static int Reset(PlatformKafkaOptions kafka, string group, string pattern, DateTimeOffset? at, bool dryRun, out string? problem)
    {
        problem = null;
        using var admin = Admin(kafka);
        var partitions = Partitions(admin, pattern);
        if (partitions.Count == 0)
        {
            problem = $"error: no topic matches '{pattern}'; pass --topics with the event topics' pattern.";
            return 0;
        }
        using var consumer = Consumer(kafka, group);
        List<TopicPartitionOffset> targets;
        if (at is { } time)
        {
            var found = consumer.OffsetsForTimes(partitions.Select(p => new TopicPartitionTimestamp(p, new Timestamp(time))), Timeout);
            // No record at or after the time: the end of the partition.
            targets = found.Select(f => f.Offset == Offset.End || f.Offset.Value < 0
                ? new TopicPartitionOffset(f.TopicPartition, consumer.QueryWatermarkOffsets(f.TopicPartition, Timeout).High)
                : f).ToList();
        }
        else
        {
            targets = partitions.Select(p => new TopicPartitionOffset(p, consumer.QueryWatermarkOffsets(p, Timeout).Low)).ToList();
        }
        if (dryRun)
            return targets.Count;
        try
        {
            // The Admin API's offset change, as kafka-consumer-groups does it: refused while the group has members.
            admin.AlterConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitionOffsets(group, targets)]).GetAwaiter().GetResult();
        }
        catch (Confluent.Kafka.Admin.AlterConsumerGroupOffsetsException exception)
        {
            var refused = exception.Results.SelectMany(r => r.Partitions).FirstOrDefault(p => p.Error.IsError)?.Error ?? exception.Error;
            problem = refused.Code is ErrorCode.UnknownMemberId or ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration
                or ErrorCode.FencedMemberEpoch or ErrorCode.UnreleasedInstanceId or ErrorCode.GroupSubscribedToTopic
                ? $"error: group {group} has running members ({refused.Code}); stop its runtime instances, then reset again."
                : $"error: Kafka refused the new offsets: {refused.Reason} ({refused.Code}).";
            return 0;
        }
        return targets.Count;
    }

    static void Print(ParseResult parse, List<PartitionLag> rows, bool json)
    {
        var output = parse.InvocationConfiguration.Output;
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(rows, Json));
            return;
        }
        output.WriteLine($"{"topic",-32} {"partition",9} {"committed",10} {"end",10} {"lag",8}");
        foreach (var row in rows)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Topic,-32} {row.Partition,9} {(row.Committed is { } c ? c.ToString(CultureInfo.InvariantCulture) : "-"),10} {row.High,10} {row.Lag,8}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total lag {rows.Sum(r => r.Lag)}"));
    }
}
