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
