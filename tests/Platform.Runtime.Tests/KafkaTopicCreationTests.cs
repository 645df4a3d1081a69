using System.Collections.Concurrent;
using System.Reflection;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Configuration;
using Platform.Runtime.Kafka;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// What the runtime asks a Kafka cluster for when it creates topics, and what it does with the
/// answer. librdkafka's mock cluster has no CreateTopics (the request goes unanswered), so the admin
/// client here is a stand-in that records each request and answers as a real cluster would.
/// </summary>
public sealed class KafkaTopicCreationTests
{
    [Fact]
    public async Task each_topic_is_asked_for_once_with_the_configured_partitions_and_replication_factor()
    {
        var (topology, cluster, _) = Create(new PlatformOptions().UseKafka("kafka:9092"));
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        await topology.EnsureTopicAsync("events.customer", CancellationToken.None);

        // The defaults are the production ones the seed asks for: 12 partitions, 3 replicas.
        Assert.Equal([("events.order", 12, (short)3), ("events.customer", 12, (short)3)],
            cluster.Requested.Select(t => (t.Name, t.NumPartitions, t.ReplicationFactor)));

        var options = new PlatformOptions().UseKafka("kafka:9092");
        options.Transport.Kafka.Partitions = 6;
        options.Transport.Kafka.ReplicationFactor = 1;
        (topology, cluster, _) = Create(options);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        Assert.Equal([("events.order", 6, (short)1)], cluster.Requested.Select(t => (t.Name, t.NumPartitions, t.ReplicationFactor)));
    }

    [Fact]
    public async Task with_creation_off_no_admin_client_is_made()
    {
        var options = new PlatformOptions().UseKafka("kafka:9092");
        options.Transport.Kafka.CreateTopics = false;
        var (topology, cluster, _) = Create(options);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        Assert.Equal(0, cluster.ClientsMade);
    }

    [Fact]
    public async Task a_topic_that_exists_already_is_used_as_it_is_without_a_warning()
    {
        var (topology, cluster, log) = Create(new PlatformOptions().UseKafka("kafka:9092"));
        cluster.Answer = topics => throw Refusal(topics, ErrorCode.TopicAlreadyExists);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        Assert.Single(cluster.Requested);
        Assert.Empty(log.Warnings);
    }

    [Fact]
    public async Task a_refusal_is_reported_once_and_the_topic_used_as_it_is()
    {
        var (topology, cluster, log) = Create(new PlatformOptions().UseKafka("kafka:9092"));
        cluster.Answer = topics => throw Refusal(topics, ErrorCode.TopicAuthorizationFailed);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        Assert.Single(cluster.Requested);
        var warning = Assert.Single(log.Warnings);
        Assert.Contains("events.order", warning, StringComparison.Ordinal);
        Assert.Contains("TopicAuthorizationFailed", warning, StringComparison.Ordinal);

        // A refusal is about that topic: the next one is still asked for.
        await topology.EnsureTopicAsync("events.customer", CancellationToken.None);
        Assert.Equal(2, cluster.Requested.Count);
    }

    [Fact]
    public async Task a_cluster_that_does_not_answer_is_not_asked_again_for_a_while()
    {
        var (topology, cluster, log) = Create(new PlatformOptions().UseKafka("kafka:9092"));
        cluster.Answer = _ => throw new KafkaException(ErrorCode.Local_TimedOut);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        // Paused: the relay and the consumers go on with the topics that exist meanwhile.
        await topology.EnsureTopicAsync("events.customer", CancellationToken.None);
        await topology.EnsureTopicAsync("events.order", CancellationToken.None);
        Assert.Single(cluster.Requested);
        Assert.Contains("no topic is created for 60 s", Assert.Single(log.Warnings), StringComparison.Ordinal);
    }

    static CreateTopicsException Refusal(IEnumerable<TopicSpecification> topics, ErrorCode code) =>
        new(topics.Select(t => new CreateTopicReport { Topic = t.Name, Error = new Error(code) }).ToList());

    static (KafkaTopology Topology, FakeCluster Cluster, WarningLog Log) Create(PlatformOptions options)
    {
        var cluster = new FakeCluster();
        var log = new WarningLog();
        var topology = new KafkaTopology(options, log) { AdminClients = cluster.Connect };
        return (topology, cluster, log);
    }

    /// <summary>Records the CreateTopics requests of the admin clients it hands out, and answers them.</summary>
    public sealed class FakeCluster
    {
        int _clientsMade;

        public ConcurrentQueue<TopicSpecification> Requested { get; } = new();

        public Func<IEnumerable<TopicSpecification>, Task> Answer { get; set; } = _ => Task.CompletedTask;

        public int ClientsMade => Volatile.Read(ref _clientsMade);

        public IAdminClient Connect(AdminClientConfig config)
        {
            Assert.Equal("kafka:9092", config.BootstrapServers);
            Interlocked.Increment(ref _clientsMade);
            var client = DispatchProxy.Create<IAdminClient, AdminClientStandIn>();
            ((AdminClientStandIn)(object)client).Cluster = this;
            return client;
        }
    }

    /// <summary>An admin client that knows CreateTopicsAsync and Dispose, and nothing else.</summary>
    public class AdminClientStandIn : DispatchProxy
    {
        internal FakeCluster? Cluster { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            switch (targetMethod?.Name)
            {
                case nameof(IAdminClient.CreateTopicsAsync):
                    var topics = ((IEnumerable<TopicSpecification>)args![0]!).ToList();
                    foreach (var topic in topics)
                        Cluster!.Requested.Enqueue(topic);
                    try
                    {
                        return Cluster!.Answer(topics);
                    }
                    catch (Exception exception)
                    {
                        return Task.FromException(exception);
                    }
                case nameof(IDisposable.Dispose):
                    return null;
                default:
                    throw new NotSupportedException($"the stand-in admin client does not do {targetMethod?.Name}");
            }
        }
    }

    sealed class WarningLog : ILogger<KafkaTopology>
    {
        public ConcurrentQueue<string> Warnings { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
                Warnings.Enqueue(formatter(state, exception));
        }
    }
}
