using System.Text.RegularExpressions;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;
using Platform.Runtime.Sagas;

namespace Platform.Runtime.Kafka;

/// <summary>One endpoint of the in-process bus, and what it consumes from Kafka.</summary>
/// <param name="Queue">Its receive endpoint on the in-process bus; also its Kafka consumer group, and the queue of its command topic.</param>
/// <param name="EventTypes">The stored event types it consumes, from the event topics.</param>
/// <param name="MessageTypes">
/// Every type it consumes (commands, replies, timeouts, and events that are published rather than
/// stored), by the name they travel under (<see cref="KafkaTopology.MessageTypeName"/>): from its
/// command topic and their message topics.
/// </param>
public sealed record KafkaEndpoint(string Queue, IReadOnlySet<Type> EventTypes, IReadOnlyDictionary<string, Type> MessageTypes);

/// <summary>
/// Topic names, client settings and topic creation for the Kafka transport: one topic per aggregate
/// type (<c>events.order</c>), keyed by stream id, so one aggregate's events stay in one partition in
/// version order; one topic per queue for what is sent to it (<c>commands.{queue}</c>) and one per
/// published message type (<c>messages.{type}</c>), keyed by correlation id.
/// </summary>
public sealed class KafkaTopology
{
    static readonly Regex NotInTopicName = new("[^a-z0-9._-]", RegexOptions.CultureInvariant);

    readonly PlatformKafkaOptions _options;
    readonly ILogger _logger;
    readonly string _eventTopics;
    static readonly TimeSpan CreationTimeout = TimeSpan.FromSeconds(10);
    static readonly TimeSpan CreationPause = TimeSpan.FromMinutes(1);

    readonly HashSet<string> _created = new(StringComparer.Ordinal);
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _eventTopicNames = new(StringComparer.Ordinal); // per event, on the relay's path
    readonly SemaphoreSlim _creating = new(1, 1);
    long _pausedUntilTicks;

    /// <summary>Creates the topology.</summary>
    /// <param name="options">The runtime's options.</param>
    /// <param name="logger">Where a topic the cluster would not create is reported.</param>
    public KafkaTopology(PlatformOptions options, ILogger<KafkaTopology>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Transport.Kafka;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var format = _options.TopicFormat;
        var at = format.IndexOf("{aggregate}", StringComparison.Ordinal);
        _eventTopics = "^" + Regex.Escape(format[..at]) + "[^.].*" + Regex.Escape(format[(at + "{aggregate}".Length)..]) + "$";
        DeadLetterTopic = options.Transport.QueuePrefix + ".dead-letters";
    }

    /// <summary>Makes the admin client topics are created with (tests give a stand-in: librdkafka's mock cluster has no CreateTopics).</summary>
    internal Func<AdminClientConfig, IAdminClient> AdminClients { get; set; } = config => new AdminClientBuilder(config).Build();

    /// <summary>Where dead letters are copied, with their original headers and the error.</summary>
    public string DeadLetterTopic { get; }

    /// <summary>The topic of a stream type's events.</summary>
    /// <param name="streamType">The aggregate type, e.g. <c>Order</c>.</param>
    public string TopicFor(string streamType) =>
        _eventTopicNames.TryGetValue(streamType, out var topic) ? topic
            : _eventTopicNames.GetOrAdd(streamType, type => _options.TopicFormat.Replace("{aggregate}", type.ToLowerInvariant(), StringComparison.Ordinal));

    /// <summary>The topic of what is sent to <paramref name="queue"/>.</summary>
    /// <param name="queue">The queue's name, e.g. <c>platform-commands</c>.</param>
    public string CommandTopicFor(string queue) => _options.CommandTopicFormat.Replace("{queue}", queue, StringComparison.Ordinal);

    /// <summary>The topic of what is sent to a queue address (<c>queue:name</c>, or any address whose last segment is the queue).</summary>
    /// <param name="destination">The address, e.g. <c>queue:platform-paymentservice</c>.</param>
    public string CommandTopicFor(Uri destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var path = destination.IsAbsoluteUri ? destination.AbsolutePath : destination.OriginalString;
        var queue = path.Split('?')[0].TrimEnd('/');
        queue = queue[(queue.LastIndexOf('/') + 1)..];
        if (queue.Length == 0)
            throw new InvalidOperationException($"'{destination}' names no queue; a message sent on Kafka needs one, e.g. queue:payments.");
        return CommandTopicFor(queue);
    }

    /// <summary>The topic of a published message type.</summary>
    /// <param name="messageType">The type.</param>
    public string MessageTopicFor(Type messageType) => _options.MessageTopicFormat.Replace("{type}",
        NotInTopicName.Replace(MessageTypeName(messageType).ToLowerInvariant(), "-"), StringComparison.Ordinal);

    /// <summary>The name a message type travels under (its full name); the consumer maps it back to one of the types it consumes.</summary>
    /// <param name="messageType">The type.</param>
    public static string MessageTypeName(Type messageType)
    {
        ArgumentNullException.ThrowIfNull(messageType);
        return messageType.FullName ?? throw new InvalidOperationException($"{messageType} has no full name; a message type must be a named, closed type.");
    }

    /// <summary>The command and message topics an endpoint reads besides the event topics.</summary>
    /// <param name="endpoint">The endpoint.</param>
    public IReadOnlyList<string> MessageTopicsOf(KafkaEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.MessageTypes.Values.Select(MessageTopicFor).Prepend(CommandTopicFor(endpoint.Queue)).Distinct().ToArray();
    }

    /// <summary>
    /// The command and message topics every endpoint of a runtime with <paramref name="options"/>
    /// reads, for whoever creates topics ahead of it (<c>CreateTopics</c> off: a consumer group
    /// picks up a topic by name only if it exists when the group subscribes).
    /// </summary>
    /// <param name="options">The runtime's options, as configured.</param>
    public static IReadOnlyList<string> MessageTopicsRead(PlatformOptions options)
    {
        var topology = new KafkaTopology(options);
        return Endpoints(options, new DomainCatalog(options.ResolveDomainTypes())).SelectMany(topology.MessageTopicsOf).Distinct().ToArray();
    }

    /// <summary>
    /// What an endpoint's consumer group subscribes to: a pattern of every event topic when it
    /// consumes stored events (so new aggregate types are picked up), its command topic, and the
    /// message topics of the types it consumes, by name.
    /// </summary>
    /// <param name="endpoint">The endpoint.</param>
    public IReadOnlyList<string> SubscriptionFor(KafkaEndpoint endpoint)
    {
        var topics = MessageTopicsOf(endpoint);
        return endpoint.EventTypes.Count > 0 ? topics.Prepend(_eventTopics).ToArray() : topics;
    }

    /// <summary>The settings every client shares: servers, security and <c>Client</c>.</summary>
    /// <typeparam name="T">The client's config type.</typeparam>
    public T Client<T>() where T : ClientConfig, new() => KafkaClients.Config<T>(_options);

    /// <summary>A consumer's settings: those every client shares and <c>Consumer</c>.</summary>
    public ConsumerConfig ConsumerClient() => KafkaClients.Consumer(_options);

    /// <summary>A producer's settings: those every client shares and <c>Producer</c>.</summary>
    public ProducerConfig ProducerClient() => KafkaClients.Producer(_options);

    /// <summary>
    /// Creates <paramref name="topic"/> with the configured partitions and replication, once per
    /// process, when <c>CreateTopics</c> is on. A cluster that refuses (the principal may not create
    /// topics, a policy forbids the settings) is logged once per topic and the topic used as it is:
    /// its operators may have made it, and if nobody did, writing to it fails and is retried like
    /// any other failed write. A failure that may pass (a timeout, an unreachable controller;
    /// librdkafka's mock cluster, which has no CreateTopics, leaves the request unanswered) is
    /// logged too, and no topic is created for a minute, so that the relay and the consumers go on
    /// with the topics that exist meanwhile.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task EnsureTopicAsync(string topic, CancellationToken cancellationToken)
    {
        if (!_options.CreateTopics || Settled(topic))
            return;
        await _creating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Settled(topic))
                return;
            using var admin = AdminClients(Client<AdminClientConfig>());
            var error = await CreateAsync(admin, topic, cancellationToken).ConfigureAwait(false);
            if (error is null || !IsTransient(error.Code))
            {
                lock (_created)
                    _created.Add(topic);
            }
            else
            {
                Volatile.Write(ref _pausedUntilTicks, DateTime.UtcNow.Add(CreationPause).Ticks);
            }
            if (error is not null)
                _logger.LogWarning("Kafka topic {Topic} was not created ({Code}: {Reason}); it is used as it is{Pause}", topic, error.Code, error.Reason,
                    IsTransient(error.Code) ? $", and no topic is created for {CreationPause.TotalSeconds:N0} s" : "");
        }
        finally
        {
            _creating.Release();
        }
    }

    bool Settled(string topic)
    {
        if (DateTime.UtcNow.Ticks < Volatile.Read(ref _pausedUntilTicks))
            return true;
        lock (_created)
            return _created.Contains(topic);
    }

    // The error that kept the topic from being made, or null when it exists now.
    async Task<Error?> CreateAsync(IAdminClient admin, string topic, CancellationToken cancellationToken)
    {
        try
        {
            await admin.CreateTopicsAsync(
                    [new TopicSpecification { Name = topic, NumPartitions = _options.Partitions, ReplicationFactor = _options.ReplicationFactor }],
                    new CreateTopicsOptions { RequestTimeout = CreationTimeout, OperationTimeout = CreationTimeout })
                .WaitAsync(CreationTimeout + CreationTimeout, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (CreateTopicsException exception)
        {
            return exception.Results.Select(r => r.Error).FirstOrDefault(e => e.Code is not (ErrorCode.NoError or ErrorCode.TopicAlreadyExists));
        }
        catch (KafkaException exception)
        {
            return exception.Error;
        }
        catch (TimeoutException)
        {
            return new Error(ErrorCode.Local_TimedOut, "the cluster did not answer the CreateTopics request");
        }
    }

    static bool IsTransient(ErrorCode code) =>
        code is ErrorCode.Local_TimedOut or ErrorCode.RequestTimedOut or ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown
            or ErrorCode.NotController or ErrorCode.BrokerNotAvailable or ErrorCode.LeaderNotAvailable or ErrorCode.NetworkException;

    /// <summary>
    /// Every endpoint of the runtime (the command queue, event consumers, sagas, reactions): each
    /// gets a Kafka consumer group of its own, named after its queue.
    /// </summary>
    /// <param name="options">The runtime's options.</param>
    /// <param name="catalog">The loaded domains.</param>
    public static IReadOnlyList<KafkaEndpoint> Endpoints(PlatformOptions options, DomainCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        var eventTypes = catalog.EventTypes.Select(d => d.ClrType).ToHashSet();
        var endpoints = new List<KafkaEndpoint>();
        void Add(string queue, IEnumerable<Type> consumed)
        {
            var types = consumed.Distinct().ToArray();
            // A stored event type too: a service may publish what its aggregate also stores.
            endpoints.Add(new KafkaEndpoint(queue, types.Where(eventTypes.Contains).ToHashSet(), types.ToDictionary(MessageTypeName, StringComparer.Ordinal)));
        }
        Add(options.CommandQueueName, catalog.CommandTypes);
        foreach (var consumer in options.EventConsumers)
            Add(options.EventQueueName(consumer), RetryPipeline.ConsumedTypes(consumer));
        foreach (var consumer in options.MessageConsumers)
            Add(options.EventQueueName(consumer), RetryPipeline.ConsumedTypes(consumer));
        if (options.Sagas.Enabled)
        {
            foreach (var saga in SagaRuntime.Bind(options, catalog))
                Add(saga.Queue, SagaRegistration.SagaMessageTypes(saga.StateMachine));
            foreach (var reaction in SagaRuntime.BindReactions(options, catalog))
                Add(reaction.Queue, RetryPipeline.ConsumedTypes(reaction.Consumer));
        }
        return endpoints;
    }
}
