using System.Text.RegularExpressions;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;
using Platform.Runtime.Sagas;

namespace Platform.Runtime.Kafka;

/// <summary>One endpoint that consumes stored events, and the event types it consumes.</summary>
/// <param name="Queue">Its receive endpoint on the in-process bus; also its Kafka consumer group.</param>
/// <param name="MessageTypes">The CLR types it consumes.</param>
public sealed record KafkaEndpoint(string Queue, IReadOnlySet<Type> MessageTypes);

/// <summary>
/// Topic names, client settings and topic creation for the Kafka transport: one topic per aggregate
/// type (<c>events.order</c>), keyed by stream id, so one aggregate's events stay in one partition in
/// version order.
/// </summary>
public sealed class KafkaTopology
{
    readonly PlatformKafkaOptions _options;
    readonly HashSet<string> _created = new(StringComparer.Ordinal);
    readonly SemaphoreSlim _creating = new(1, 1);

    /// <summary>Creates the topology.</summary>
    /// <param name="options">The runtime's options.</param>
    public KafkaTopology(PlatformOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Transport.Kafka;
        var format = _options.TopicFormat;
        var at = format.IndexOf("{aggregate}", StringComparison.Ordinal);
        SubscriptionPattern = "^" + Regex.Escape(format[..at]) + "[^.].*" + Regex.Escape(format[(at + "{aggregate}".Length)..]) + "$";
        DeadLetterTopic = options.Transport.QueuePrefix + ".dead-letters";
    }

    /// <summary>The regular expression every event topic matches (a consumer subscribes to it, so new aggregate types are picked up).</summary>
    public string SubscriptionPattern { get; }

    /// <summary>Where dead letters are copied, with their original headers and the error.</summary>
    public string DeadLetterTopic { get; }

    /// <summary>The topic of a stream type's events.</summary>
    /// <param name="streamType">The aggregate type, e.g. <c>Order</c>.</param>
    public string TopicFor(string streamType) => _options.TopicFormat.Replace("{aggregate}", streamType.ToLowerInvariant(), StringComparison.Ordinal);

    /// <summary>The settings every client shares: servers and security.</summary>
    /// <typeparam name="T">The client's config type.</typeparam>
    public T Client<T>() where T : ClientConfig, new()
    {
        var config = new T { BootstrapServers = _options.BootstrapServers };
        if (_options.SecurityProtocol is { Length: > 0 } protocol)
            config.SecurityProtocol = Enum.Parse<SecurityProtocol>(protocol, ignoreCase: true);
        if (_options.SaslMechanism is { Length: > 0 } mechanism)
            config.SaslMechanism = Enum.Parse<SaslMechanism>(mechanism, ignoreCase: true);
        config.SaslUsername = _options.SaslUsername;
        config.SaslPassword = _options.SaslPassword;
        config.SslCaLocation = _options.SslCaLocation;
        return config;
    }

    /// <summary>Creates <paramref name="topic"/> with the configured partitions and replication, once per process, when <c>CreateTopics</c> is on.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task EnsureTopicAsync(string topic, CancellationToken cancellationToken)
    {
        if (!_options.CreateTopics)
            return;
        lock (_created)
        {
            if (_created.Contains(topic))
                return;
        }
        await _creating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var admin = new AdminClientBuilder(Client<AdminClientConfig>()).Build();
            try
            {
                await admin.CreateTopicsAsync([new TopicSpecification
                {
                    Name = topic, NumPartitions = _options.Partitions, ReplicationFactor = _options.ReplicationFactor,
                }]).ConfigureAwait(false);
            }
            catch (CreateTopicsException exception) when (exception.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
            {
            }
            lock (_created)
                _created.Add(topic);
        }
        finally
        {
            _creating.Release();
        }
    }

    /// <summary>
    /// Every endpoint of the runtime that consumes stored events (event consumers, sagas, reactions):
    /// each gets a Kafka consumer group of its own, named after its queue.
    /// </summary>
    /// <param name="options">The runtime's options.</param>
    /// <param name="catalog">The loaded domains.</param>
    public static IReadOnlyList<KafkaEndpoint> EventEndpoints(PlatformOptions options, DomainCatalog catalog)
    {
        var eventTypes = catalog.EventTypes.Select(d => d.ClrType).ToHashSet();
        var endpoints = new List<KafkaEndpoint>();
        void Add(string queue, IEnumerable<Type> consumed)
        {
            var types = consumed.Where(eventTypes.Contains).ToHashSet();
            if (types.Count > 0)
                endpoints.Add(new KafkaEndpoint(queue, types));
        }
        foreach (var consumer in options.EventConsumers)
            Add(options.EventQueueName(consumer), RetryPipeline.ConsumedTypes(consumer));
        if (options.Sagas.Enabled)
        {
            // Its timeouts are not stored events, so Add leaves them out.
            foreach (var saga in SagaRuntime.Bind(options, catalog))
                Add(saga.Queue, SagaRegistration.SagaMessageTypes(saga.StateMachine));
            foreach (var reaction in SagaRuntime.BindReactions(options, catalog))
                Add(reaction.Queue, RetryPipeline.ConsumedTypes(reaction.Consumer));
        }
        return endpoints;
    }
}
