using System.CommandLine;
using System.Text.Json;
using Confluent.Kafka;
using Platform.Cli.Commands;
using Platform.Testing;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary><c>platform kafka lag</c> and <c>platform kafka reset-offsets</c> on the mock cluster.</summary>
public sealed class KafkaCommandTests
{
    static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var root = new RootCommand { KafkaCommands.Create() };
        var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }

    [SkippableFact]
    public async Task status_shows_the_lag_of_each_endpoints_consumer_group_by_partition_when_the_runtime_is_on_kafka()
    {
        // The store of a running runtime; the transport platform status reads from the runtime's
        // configuration file, which says Kafka.
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory);
        using var cluster = new KafkaMockCluster(brokers: 3);
        cluster.CreateTopic("status.events.order", partitions: 2, replicationFactor: 3);
        cluster.CreateTopic("status.commands.st-commands", partitions: 1, replicationFactor: 3);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true }).Build())
        {
            for (var n = 0; n < 4; n++)
                await producer.ProduceAsync(new TopicPartition("status.events.order", n % 2), new Message<string, string> { Key = "order-" + n, Value = "v" });
            for (var n = 0; n < 5; n++)
                await producer.ProduceAsync("status.commands.st-commands", new Message<string, string> { Key = "c", Value = "v" });
        }
        // The command queue's group has processed two of its five commands.
        using (var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
               {
                   BootstrapServers = cluster.BootstrapServers, GroupId = "st-commands", EnableAutoCommit = false,
               }).Build())
        {
            consumer.Commit([new TopicPartitionOffset("status.commands.st-commands", 0, 2)]);
        }
        var file = Path.Combine(Path.GetTempPath(), $"platform-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, $"""
            transport:
              kind: kafka
              queuePrefix: st
              kafka:
                bootstrapServers: {cluster.BootstrapServers}
                topicFormat: status.events.{"{aggregate}"}
                commandTopicFormat: status.commands.{"{queue}"}
            """);
        try
        {
            string[] status = ["status", "--config", file, .. ProjectionCommandTests.StoreArguments(host)];
            var (code, output) = await ProjectionCommandTests.RunAsync([.. status, "--json"]);
            Assert.True(code == 0, output);
            var groups = JsonDocument.Parse(output).RootElement.GetProperty("consumerGroups").EnumerateArray()
                .ToDictionary(g => g.GetProperty("group").GetString()!, g => g);
            var commands = groups["st-commands"];
            Assert.Equal(3, commands.GetProperty("lag").GetInt64());
            var partition = Assert.Single(commands.GetProperty("partitions").EnumerateArray());
            Assert.Equal(("status.commands.st-commands", 2L, 3L), (partition.GetProperty("topic").GetString(), partition.GetProperty("committed").GetInt64(), partition.GetProperty("lag").GetInt64()));
            // A group that consumes the order events and never committed lags by all four, on both partitions.
            var onEvents = groups.Values.Where(g => g.GetProperty("partitions").EnumerateArray().Any(p => p.GetProperty("topic").GetString() == "status.events.order")).ToList();
            Assert.NotEmpty(onEvents);
            Assert.All(onEvents, g => Assert.Equal(4, g.GetProperty("partitions").EnumerateArray()
                .Where(p => p.GetProperty("topic").GetString() == "status.events.order").Sum(p => p.GetProperty("lag").GetInt64())));

            (code, output) = await ProjectionCommandTests.RunAsync(status);
            Assert.True(code == 0, output);
            Assert.Matches(@"st-commands\s+3\s+status\.commands\.st-commands\[0\] 3", output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    static long TotalLag(string json) => JsonDocument.Parse(json[json.IndexOf('[', StringComparison.Ordinal)..]).RootElement
        .EnumerateArray().Sum(p => p.GetProperty("lag").GetInt64());

    [Fact]
    public async Task lag_shows_what_a_group_has_not_processed_and_reset_offsets_replays_from_the_start_or_from_a_time()
    {
        using var cluster = new KafkaMockCluster(brokers: 3);
        cluster.CreateTopic("events.order", partitions: 3, replicationFactor: 3);
        cluster.CreateTopic("other.topic", partitions: 1);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true }).Build())
        {
            for (var n = 0; n < 30; n++)
                await producer.ProduceAsync("events.order", new Message<string, string> { Key = "order-" + n, Value = "v" });
            await producer.ProduceAsync("other.topic", new Message<string, string> { Key = "x", Value = "not an event" });
        }
        string[] cluster_ = ["--bootstrap-servers", cluster.BootstrapServers, "--group", "shop-orderrecorder"];

        // A group that never committed lags by everything.
        var (code, output) = await RunAsync(["kafka", "lag", "--json", .. cluster_]);
        Assert.Equal(0, code);
        Assert.Equal(30, TotalLag(output));

        // The group's offsets move to the end: no lag. (Committed by an assigned consumer, not a
        // subscribed one: librdkafka's mock refuses the Admin API's offset change for a group
        // that ever had members, even after they left, which a real broker allows.)
        var time = DateTimeOffset.UtcNow;
        using (var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
               {
                   BootstrapServers = cluster.BootstrapServers, GroupId = "shop-orderrecorder", EnableAutoCommit = false,
               }).Build())
        {
            consumer.Assign(Enumerable.Range(0, 3).Select(p => new TopicPartitionOffset("events.order", p, Offset.Beginning)));
            for (var seen = 0; seen < 30;)
            {
                if (consumer.Consume(TimeSpan.FromSeconds(10)) is { } record)
                {
                    consumer.Commit(record);
                    seen++;
                }
            }
        }
        (code, output) = await RunAsync(["kafka", "lag", .. cluster_]);
        Assert.Equal(0, code);
        Assert.Contains("total lag 0", output, StringComparison.Ordinal);
        Assert.Matches(@"events\.order\s+0\s+\d+\s+\d+\s+0", output);
        Assert.DoesNotContain("other.topic", output, StringComparison.Ordinal);

        // Back to the start: the whole topic again (the endpoints' inbox skips what they did).
        (code, output) = await RunAsync(["kafka", "reset-offsets", "--to-earliest", "--dry-run", "--json", .. cluster_]);
        Assert.Equal(0, code);
        Assert.StartsWith("shop-orderrecorder: would move 3 partition(s); nothing committed (--dry-run).", output, StringComparison.Ordinal);
        Assert.Equal(0, TotalLag(output));
        (code, output) = await RunAsync(["kafka", "reset-offsets", "--to-earliest", "--json", .. cluster_]);
        Assert.True(code == 0, output);
        Assert.StartsWith("shop-orderrecorder: moved 3 partition(s).", output, StringComparison.Ordinal);
        Assert.Equal(30, TotalLag(output));

        // To a time after every record: no record at or after it, so the end of each partition.
        // (The mock answers every lookup by time with "end", so a time before the records, which
        // a real broker answers with their offsets, cannot be shown here.)
        (code, output) = await RunAsync(["kafka", "reset-offsets", "--to-datetime", time.AddMinutes(5).ToString("O"), "--json", .. cluster_]);
        Assert.Equal(0, code);
        Assert.StartsWith("shop-orderrecorder: moved 3 partition(s).", output, StringComparison.Ordinal);
        Assert.Equal(0, TotalLag(output));

        (code, output) = await RunAsync(["kafka", "reset-offsets", .. cluster_]);
        Assert.Equal((1, "error: pass exactly one of --to-earliest and --to-datetime <time>."), (code, output.Trim()));
        (code, output) = await RunAsync(["kafka", "reset-offsets", "--to-datetime", "yesterday", .. cluster_]);
        Assert.Equal((1, "error: 'yesterday' is not a time; pass ISO 8601, e.g. 2026-11-26T09:00:00Z."), (code, output.Trim()));
        (code, output) = await RunAsync(["kafka", "reset-offsets", "--to-earliest", "--topics", "^nothing$", .. cluster_]);
        Assert.Equal((1, "error: no topic matches '^nothing$'; pass --topics with the event topics' pattern."), (code, output.Trim()));
    }
}
