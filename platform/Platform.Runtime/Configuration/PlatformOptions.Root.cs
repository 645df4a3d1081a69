using MassTransit;

namespace Platform.Runtime.Configuration;

/// <summary>
/// Everything the runtime is configured with, bindable from the <c>Platform</c> configuration
/// section (appsettings, environment variables <c>Platform__Store__Provider</c>, ...) and
/// adjustable in code: <c>services.AddPlatform(configuration.GetSection("Platform"), cfg => cfg.AddDomain(typeof(OrdersDomain)))</c>.
/// </summary>
public sealed class PlatformOptions
{
    readonly List<Type> _domainTypes = [];
    readonly List<Type> _eventConsumers = [];
    readonly List<Type> _messageConsumers = [];

    /// <summary>The event store.</summary>
    public PlatformStoreOptions Store { get; } = new();

    /// <summary>The message bus.</summary>
    public PlatformTransportOptions Transport { get; } = new();

    /// <summary>The command path.</summary>
    public PlatformCommandOptions Commands { get; } = new();

    /// <summary>The outbox relay.</summary>
    public PlatformRelayOptions Relay { get; } = new();

    /// <summary>The projection engine.</summary>
    public PlatformProjectionOptions Projections { get; } = new();

    /// <summary>Retries of failing consumers, then dead letters (<c>Platform:Retries</c>).</summary>
    public PlatformRetryOptions Retries { get; } = new();

    /// <summary>Sagas and reactions: repository, timeouts, outbox and command routes (<c>Platform:Sagas</c>).</summary>
    public PlatformSagaOptions Sagas { get; } = new();

    /// <summary>Traces and metrics through OpenTelemetry (<c>Platform:Telemetry</c>).</summary>
    public PlatformTelemetryOptions Telemetry { get; } = new();

    /// <summary>How long the message inbox remembers a message (<c>Platform:Inbox</c>).</summary>
    public PlatformInboxOptions Inbox { get; } = new();

    /// <summary>
    /// Generated domain classes to load, by assembly-qualified name (e.g.
    /// <c>Shop.Orders.OrdersDomain, Shop.Orders</c>) or as the path of a service's built <c>.dll</c>
    /// (every generated domain class in it); the configuration form of <see cref="AddDomain"/>.
    /// </summary>
    public List<string> Domains { get; } = [];

    /// <summary>The generated domain classes added in code.</summary>
    public IReadOnlyList<Type> DomainTypes => _domainTypes;

    /// <summary>Event consumers (usually <see cref="Consumers.IdempotentEventConsumer{TEvent}"/> subclasses), one queue each.</summary>
    public IReadOnlyList<Type> EventConsumers => _eventConsumers;

    /// <summary>Consumers of commands and published messages, one queue each (<see cref="AddMessageConsumer{TConsumer}"/>).</summary>
    public IReadOnlyList<Type> MessageConsumers => _messageConsumers;

    /// <summary>Store events in PostgreSQL.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    public PlatformOptions UsePostgres(string connectionString) => UseStore(StoreProvider.Postgres, connectionString);

    /// <summary>Store events in SQLite (one process).</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string.</param>
    public PlatformOptions UseSqlite(string connectionString) => UseStore(StoreProvider.Sqlite, connectionString);

    /// <summary>Run on MassTransit's in-memory transport (the default).</summary>
    public PlatformOptions UseInMemoryTransport()
    {
        Transport.Kind = TransportKind.InMemory;
        return this;
    }

    /// <summary>Run on RabbitMQ.</summary>
    /// <param name="uri">The AMQP URI.</param>
    public PlatformOptions UseRabbitMq(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        Transport.Kind = TransportKind.RabbitMq;
        Transport.RabbitMqUri = uri.ToString();
        return this;
    }

    /// <summary>Run on Kafka (events, commands and replies between instances on Kafka topics; consumers on an in-process bus).</summary>
    /// <param name="bootstrapServers">The cluster, e.g. <c>kafka-1:9092,kafka-2:9092</c>.</param>
    public PlatformOptions UseKafka(string bootstrapServers)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bootstrapServers);
        Transport.Kind = TransportKind.Kafka;
        Transport.Kafka.BootstrapServers = bootstrapServers;
        return this;
    }

    /// <summary>
    /// Loads a generated domain class (e.g. <c>OrdersDomain</c>): its event descriptors, aggregate
    /// definitions (with their commands) and projections.
    /// </summary>
    /// <param name="domainType">The generated static class with <c>EventTypes</c>, <c>Aggregates</c> and <c>Projections</c>.</param>
    public PlatformOptions AddDomain(Type domainType)
    {
        ArgumentNullException.ThrowIfNull(domainType);
        if (!_domainTypes.Contains(domainType))
            _domainTypes.Add(domainType);
        return this;
    }

    /// <summary>Adds a consumer of stored events; it gets its own queue, partitioned by stream id.</summary>
    /// <typeparam name="TConsumer">The consumer.</typeparam>
    public PlatformOptions AddEventConsumer<TConsumer>() where TConsumer : class, IConsumer
    {
        if (!_eventConsumers.Contains(typeof(TConsumer)))
            _eventConsumers.Add(typeof(TConsumer));
        return this;
    }

    /// <summary>
    /// Adds a consumer of commands or published messages that do not belong to one stream (a
    /// service answering a saga's <c>ChargePayment</c>, say). It gets its own queue
    /// (<see cref="EventQueueName"/>), the runtime's retries and dead letters, and what a reaction
    /// gets: in one transaction of the store the message's inbox row (by message id, consumer
    /// <c>consumer:{type name}</c>) and whatever it sends or publishes, delivered after the commit,
    /// so a redelivered message sends nothing twice. Messages run concurrently, up to
    /// <c>Sagas:PrefetchCount</c>; an event consumer (<see cref="AddEventConsumer{TConsumer}"/>)
    /// runs one stream's messages one at a time, and a message without a stream runs after every
    /// other one. Needs <c>Sagas:Enabled</c> (the outbox and its poller).
    /// </summary>
    /// <typeparam name="TConsumer">The consumer.</typeparam>
    public PlatformOptions AddMessageConsumer<TConsumer>() where TConsumer : class, IConsumer
    {
        if (!_messageConsumers.Contains(typeof(TConsumer)))
            _messageConsumers.Add(typeof(TConsumer));
        return this;
    }

    /// <summary>The queue commands are sent to: <c>{QueuePrefix}-commands</c>.</summary>
    public string CommandQueueName => Transport.QueuePrefix + "-commands";

    /// <summary>
    /// The address to send commands to (<c>IBus.GetSendEndpoint</c>, <c>CreateRequestClient</c>). On
    /// RabbitMQ with <see cref="PlatformTransportOptions.AutoDeleteQueues"/> it carries the queue's
    /// flags: a sender declares the queue it sends to, and a declaration with other flags than the
    /// receive endpoint's is refused by the broker (the send then never completes).
    /// </summary>
    public Uri CommandAddress => new("queue:" + CommandQueueName +
        (Transport.Kind == TransportKind.RabbitMq && Transport.AutoDeleteQueues ? "?durable=false&autodelete=true" : ""));

    /// <summary>The queue of an event or message consumer: <c>{QueuePrefix}-{consumer type name}</c>, lower case.</summary>
    /// <param name="consumerType">The consumer.</param>
    public string EventQueueName(Type consumerType)
    {
        ArgumentNullException.ThrowIfNull(consumerType);
        return Transport.QueuePrefix + "-" + consumerType.Name.ToLowerInvariant();
    }

    PlatformOptions UseStore(StoreProvider provider, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Store.Provider = provider;
        Store.ConnectionString = connectionString;
        return this;
    }

    internal IReadOnlyList<Type> ResolveDomainTypes()
    {
        var types = new List<Type>(_domainTypes);
        foreach (var name in Domains)
        {
            IReadOnlyList<Type> loaded;
            try
            {
                loaded = global::Platform.Runtime.Domains.DomainLoader.Load(name);
            }
            catch (Exception exception) when (exception is InvalidOperationException or IOException or BadImageFormatException)
            {
                throw new InvalidOperationException($"Platform:Domains lists '{name}': {exception.Message}", exception);
            }
            foreach (var type in loaded)
            {
                if (!types.Contains(type))
                    types.Add(type);
            }
        }
        return types;
    }

    internal const string ReadReplicaOnSqlite =
        "Platform:Store:ReadReplica is set, but the store is SQLite: a read replica is a PostgreSQL streaming standby. Leave it empty.";

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Store.ConnectionString))
            throw new InvalidOperationException("Platform:Store:ConnectionString is empty; set it or call UsePostgres/UseSqlite.");
        if (!string.IsNullOrWhiteSpace(Store.ReadReplica) && Store.Provider != StoreProvider.Postgres)
            throw new InvalidOperationException(ReadReplicaOnSqlite);
        if (_messageConsumers.Count > 0 && !Sagas.Enabled)
            throw new InvalidOperationException(
                $"AddMessageConsumer<{_messageConsumers[0].Name}> needs Platform:Sagas:Enabled: its inbox and the messages it sends go through the saga outbox and its poller.");
        if (_messageConsumers.FirstOrDefault(_eventConsumers.Contains) is { } both)
            throw new InvalidOperationException($"{both.Name} is added as an event consumer and as a message consumer; the two share its queue. Add it once.");
        if (Transport.Kind == TransportKind.RabbitMq && !Uri.TryCreate(Transport.RabbitMqUri, UriKind.Absolute, out _))
            throw new InvalidOperationException("Platform:Transport:RabbitMqUri must be an absolute amqp:// URI when the transport is RabbitMq.");
        if (Transport.Kind == TransportKind.Kafka)
        {
            if (string.IsNullOrWhiteSpace(Transport.Kafka.BootstrapServers))
                throw new InvalidOperationException("Platform:Transport:Kafka:BootstrapServers is empty; give the cluster, e.g. kafka-1:9092,kafka-2:9092.");
            if (!Transport.Kafka.TopicFormat.Contains("{aggregate}", StringComparison.Ordinal))
                throw new InvalidOperationException($"Platform:Transport:Kafka:TopicFormat '{Transport.Kafka.TopicFormat}' must contain {{aggregate}}, e.g. events.{{aggregate}}.");
            if (!Transport.Kafka.CommandTopicFormat.Contains("{queue}", StringComparison.Ordinal))
                throw new InvalidOperationException($"Platform:Transport:Kafka:CommandTopicFormat '{Transport.Kafka.CommandTopicFormat}' must contain {{queue}}, e.g. commands.{{queue}}.");
            if (!Transport.Kafka.MessageTopicFormat.Contains("{type}", StringComparison.Ordinal))
                throw new InvalidOperationException($"Platform:Transport:Kafka:MessageTopicFormat '{Transport.Kafka.MessageTopicFormat}' must contain {{type}}, e.g. messages.{{type}}.");
            ArgumentOutOfRangeException.ThrowIfLessThan(Transport.Kafka.Partitions, 1, "Platform:Transport:Kafka:Partitions");
            ArgumentOutOfRangeException.ThrowIfLessThan(Transport.Kafka.ReplicationFactor, (short)1, "Platform:Transport:Kafka:ReplicationFactor");
            ArgumentOutOfRangeException.ThrowIfLessThan(Transport.Kafka.MaxBufferedPerPartition, 1, "Platform:Transport:Kafka:MaxBufferedPerPartition");
            ArgumentOutOfRangeException.ThrowIfLessThan(Transport.Kafka.MaxBuffered, 1, "Platform:Transport:Kafka:MaxBuffered");
            ArgumentOutOfRangeException.ThrowIfLessThan(Transport.Kafka.MaxBufferedBytes, 1, "Platform:Transport:Kafka:MaxBufferedBytes");
            Kafka.KafkaClients.CheckOwnSettings(Transport.Kafka);
            Kafka.KafkaClients.CheckWithLibrdkafka(Transport.Kafka);
        }
        ArgumentOutOfRangeException.ThrowIfNegative(Store.ConcurrentAppends, "Platform:Store:ConcurrentAppends");
        ArgumentOutOfRangeException.ThrowIfLessThan(Transport.PrefetchCount, 1, "Platform:Transport:PrefetchCount");
        ArgumentOutOfRangeException.ThrowIfLessThan(Transport.Partitions, 1, "Platform:Transport:Partitions");
        ArgumentOutOfRangeException.ThrowIfLessThan(Transport.ConsumerCommitBatchSize, 1, "Platform:Transport:ConsumerCommitBatchSize");
        if (Relay.BatchSize is { } relayBatch)
            ArgumentOutOfRangeException.ThrowIfLessThan(relayBatch, 1, "Platform:Relay:BatchSize");
        ArgumentOutOfRangeException.ThrowIfLessThan(Transport.ConsumerCommits, 1, "Platform:Transport:ConsumerCommits");
        ArgumentOutOfRangeException.ThrowIfLessThan(Sagas.PrefetchCount, 1, "Platform:Sagas:PrefetchCount");
        ArgumentOutOfRangeException.ThrowIfNegative(Commands.MaxConcurrencyRetries, "Platform:Commands:MaxConcurrencyRetries");
        if (!string.IsNullOrWhiteSpace(Telemetry.OtlpEndpoint) && !Uri.TryCreate(Telemetry.OtlpEndpoint, UriKind.Absolute, out _))
            throw new InvalidOperationException(
                $"Platform:Telemetry:OtlpEndpoint '{Telemetry.OtlpEndpoint}' is not an absolute URI; give the collector's address, e.g. http://otel-collector:4317.");
        if (Telemetry.LagInterval <= TimeSpan.Zero)
            throw new InvalidOperationException("Platform:Telemetry:LagInterval must be positive, e.g. 00:00:05.");
        if (Inbox.RetainFor is { } retain && retain <= TimeSpan.Zero)
            throw new InvalidOperationException($"Platform:Inbox:RetainFor must be positive, e.g. 7.00:00:00 (it is {retain}); leave it unset to keep the inbox for ever.");
        if (Inbox.CleanupInterval <= TimeSpan.Zero)
            throw new InvalidOperationException("Platform:Inbox:CleanupInterval must be positive, e.g. 01:00:00.");
        ArgumentOutOfRangeException.ThrowIfLessThan(Inbox.CleanupBatchSize, 1, "Platform:Inbox:CleanupBatchSize");
    }
}
