using Platform.Runtime.Projections;

namespace Platform.Runtime.Configuration;

/// <summary>Which database holds the event store (and, beside it, the read models and the inbox).</summary>
public enum StoreProvider
{
    /// <summary>SQLite: the embedded default, one process.</summary>
    Sqlite,

    /// <summary>PostgreSQL: production, many processes.</summary>
    Postgres,
}

/// <summary>Which message bus the runtime runs on.</summary>
public enum TransportKind
{
    /// <summary>MassTransit's in-memory transport: one process, the default.</summary>
    InMemory,

    /// <summary>RabbitMQ through MassTransit.RabbitMQ.</summary>
    RabbitMq,

    /// <summary>
    /// Kafka through Confluent.Kafka: stored events, and the commands and replies that sagas and
    /// services exchange, travel on Kafka topics between runtime instances, and each instance runs
    /// its consumers on MassTransit's in-memory bus (see docs/runtime.md).
    /// </summary>
    Kafka,
}

/// <summary>The event store section of <see cref="PlatformOptions"/> (<c>Platform:Store</c>).</summary>
public sealed class PlatformStoreOptions
{
    /// <summary>The database. Default <see cref="StoreProvider.Sqlite"/>.</summary>
    public StoreProvider Provider { get; set; } = StoreProvider.Sqlite;

    /// <summary>The connection string (Npgsql or Microsoft.Data.Sqlite).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// PostgreSQL: appends of their own (a command's save) that run at once; the appends that
    /// arrive meanwhile go to the database together, one statement and one commit. 0 sends every
    /// append alone. Default 8.
    /// </summary>
    public int ConcurrentAppends { get; set; } = 8;

    /// <summary>
    /// PostgreSQL: the connection string of a streaming standby the service reads its read models
    /// from (<see cref="Projections.ReadModels"/>); the waits of <see cref="Projections.ProjectionConsistency"/>
    /// then follow the standby's checkpoints. Empty: read models are read from the store. Default empty.
    /// </summary>
    public string ReadReplica { get; set; } = "";
}

/// <summary>The transport section of <see cref="PlatformOptions"/> (<c>Platform:Transport</c>).</summary>
public sealed class PlatformTransportOptions
{
    /// <summary>The bus. Default <see cref="TransportKind.InMemory"/>.</summary>
    public TransportKind Kind { get; set; } = TransportKind.InMemory;

    /// <summary>The AMQP URI when <see cref="Kind"/> is <see cref="TransportKind.RabbitMq"/>, e.g. <c>amqp://guest:guest@localhost:5672/</c>.</summary>
    public string? RabbitMqUri { get; set; }

    /// <summary>Prefix of every queue the runtime declares, so several services share a broker. Default <c>platform</c>.</summary>
    public string QueuePrefix { get; set; } = "platform";

    /// <summary>
    /// Messages fetched ahead, and handed to the consumer at once, per event-consumer endpoint.
    /// More than <see cref="Partitions"/>, so that partitions hashed from stream ids find work
    /// while others are busy; the database sees at most <see cref="ConsumerCommits"/> transactions
    /// per consumer. Default 64.
    /// </summary>
    public int PrefetchCount { get; set; } = 64;

    /// <summary>
    /// Partitions per event-consumer endpoint: events of one stream always land in the same
    /// partition and are consumed one at a time; partitions run in parallel. Default 32.
    /// </summary>
    public int Partitions { get; set; } = 32;

    /// <summary>
    /// How many times an event that arrived before an earlier event of its stream is retried
    /// (at once, then after 20 ms, 40 ms, 60 ms, ...) before it faults. Default 50 (about 25 s in all).
    /// Not used on Kafka, where a predecessor cannot arrive after its successor: there such an event
    /// (its predecessor was dead-lettered) faults at once.
    /// </summary>
    public int OutOfOrderRetries { get; set; } = 50;

    /// <summary>
    /// Most deliveries an idempotent event consumer commits in one transaction: deliveries that
    /// arrive while one of its transactions runs are claimed and committed together by the next
    /// (group commit); each is acknowledged after that commit. 1 gives every event a transaction
    /// of its own. Default 16.
    /// </summary>
    public int ConsumerCommitBatchSize { get; set; } = 16;

    /// <summary>Transactions an idempotent event consumer may have running at once (see <see cref="ConsumerCommitBatchSize"/>). Default 4.</summary>
    public int ConsumerCommits { get; set; } = 4;

    /// <summary>
    /// Declare RabbitMQ queues as auto-delete and non-durable: for tests and throwaway instances,
    /// whose queues would otherwise stay bound and fill up after they stop. Default false.
    /// </summary>
    public bool AutoDeleteQueues { get; set; }

    /// <summary>Kafka settings when <see cref="Kind"/> is <see cref="TransportKind.Kafka"/> (<c>Platform:Transport:Kafka</c>).</summary>
    public PlatformKafkaOptions Kafka { get; } = new();
}

/// <summary>The Kafka section of <see cref="PlatformTransportOptions"/> (<c>Platform:Transport:Kafka</c>).</summary>
public sealed class PlatformKafkaOptions
{
    /// <summary>The cluster, e.g. <c>kafka-1:9092,kafka-2:9092</c>.</summary>
    public string? BootstrapServers { get; set; }

    /// <summary>
    /// The topic of an aggregate type's events; <c>{aggregate}</c> is replaced by the stream type
    /// in lower case. Default <c>events.{aggregate}</c> (e.g. <c>events.order</c>).
    /// </summary>
    public string TopicFormat { get; set; } = "events.{aggregate}";

    /// <summary>
    /// The topic of what is sent to a queue (saga and reaction commands, timeouts, routed
    /// messages); <c>{queue}</c> is replaced by the queue's name. Default <c>commands.{queue}</c>
    /// (e.g. <c>commands.platform-commands</c>).
    /// </summary>
    public string CommandTopicFormat { get; set; } = "commands.{queue}";

    /// <summary>
    /// The topic of a published message type (a service's reply, a saga's alert; stored events go
    /// to the event topics of <c>TopicFormat</c>); <c>{type}</c> is replaced by the type's full name
    /// in lower case, with any character a topic name cannot hold as <c>-</c>. Default
    /// <c>messages.{type}</c> (e.g. <c>messages.shop.payments.paymentcharged</c>).
    /// </summary>
    public string MessageTopicFormat { get; set; } = "messages.{type}";

    /// <summary>
    /// Create a topic the first time the runtime writes to it, and the command and message topics
    /// a consumer group reads when it starts (Kafka's Admin API). Default true. A cluster that
    /// refuses (no permission, a policy) or does not answer within 10 s is logged and the topic
    /// used as it is; after no answer, nothing is created for a minute.
    /// </summary>
    public bool CreateTopics { get; set; } = true;

    /// <summary>Partitions of a created topic: the most consumers of one group that can work in parallel. Default 12.</summary>
    public int Partitions { get; set; } = 12;

    /// <summary>Replication factor of a created topic. Default 3, as production needs; 1 for a single broker.</summary>
    public short ReplicationFactor { get; set; } = 3;

    /// <summary>
    /// The relay's transactional id; a new one per process when empty (default), so that instances
    /// do not fence each other (the consumers' inbox makes a batch written twice harmless).
    /// </summary>
    public string? TransactionalId { get; set; }

    /// <summary>
    /// The consumer group protocol: <c>Classic</c> (default, every Kafka version) or <c>Consumer</c>
    /// (KIP-848, Kafka 4.0 and later: rebalances without stopping the group).
    /// </summary>
    public Confluent.Kafka.GroupProtocol GroupProtocol { get; set; } = Confluent.Kafka.GroupProtocol.Classic;

    /// <summary>
    /// Where a consumer group without committed offsets starts: <c>Earliest</c> (default: nothing is
    /// missed; what an endpoint already processed is skipped by its inbox) or <c>Latest</c>.
    /// </summary>
    public Confluent.Kafka.AutoOffsetReset StartFrom { get; set; } = Confluent.Kafka.AutoOffsetReset.Earliest;

    /// <summary>
    /// Records a consumer takes from the client and holds in memory, across its partitions, before
    /// it waits for its endpoint to finish some. Default 512. The rest waits in librdkafka's fetch
    /// buffer, outside the .NET heap: records held in the heap outlive the young generation, and
    /// collecting 10,000 per partition took a fifth of the benchmark's time.
    /// A partition none of whose records finished for a second (a record retried, a slow handler)
    /// does not count: one stuck partition never stops the others; it is bounded by
    /// <see cref="MaxBufferedPerPartition"/> alone. Never less than <c>PrefetchCount</c>, the records
    /// handled at once.
    /// </summary>
    public int MaxBuffered { get; set; } = 512;

    /// <summary>
    /// Bytes of records (keys, values and headers) a consumer holds, across its partitions, before
    /// it waits for its endpoint to finish some, as <see cref="MaxBuffered"/> bounds their number:
    /// whichever is reached first. Default 64 MB: with records of a megabyte, 512 of them would be
    /// half a gigabyte of heap. A record is always taken when none is held, so one larger than this
    /// still passes, alone. Partitions stuck behind one record do not count, as for MaxBuffered.
    /// </summary>
    public long MaxBufferedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Records a consumer holds of one partition before it pauses the partition. Default 10,000.
    /// Resuming a paused partition fetches again what the client had already fetched ahead, so a
    /// small buffer under a backlog costs fetches: at 1,000 the benchmark's consumer ran at 60%.
    /// </summary>
    public int MaxBufferedPerPartition { get; set; } = 10_000;

    /// <summary>
    /// How long a partition's records may all stay unfinished before the partition stops counting
    /// against <see cref="MaxBuffered"/> (tests shorten or lengthen it).
    /// </summary>
    internal TimeSpan StalledAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Write a stored event's platform headers (id, type, schema version, stream, position,
    /// correlation, causation) packed into one <c>Platform-Event</c> header, a JSON object of the same
    /// names and values, instead of one header each; <c>traceparent</c> and <c>tracestate</c> stay
    /// headers of their own. Default true. Each header costs the clients an allocation and a copy on
    /// both sides: the relay's seven took the bare Kafka loop to half its rate, one packed header to
    /// three quarters. Consumers read both forms, and have since the release that added this option
    /// (off by default there); a consumer older than that skips every packed event, so turn it off
    /// while such an instance still reads the topics, or a tool of your own reads the separate headers.
    /// </summary>
    public bool PackEventHeaders { get; set; } = true;

    /// <summary>How often consumed offsets are committed. Default 1 s.</summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>security.protocol</c>: Plaintext (default), Ssl, SaslPlaintext or SaslSsl.</summary>
    public string? SecurityProtocol { get; set; }

    /// <summary><c>sasl.mechanism</c>, e.g. Plain, ScramSha256, ScramSha512.</summary>
    public string? SaslMechanism { get; set; }

    /// <summary><c>sasl.username</c>.</summary>
    public string? SaslUsername { get; set; }

    /// <summary><c>sasl.password</c> (keep it in the environment: <c>Platform__Transport__Kafka__SaslPassword</c>).</summary>
    public string? SaslPassword { get; set; }

    /// <summary><c>ssl.ca.location</c>: the CA certificate file that signed the brokers' certificates.</summary>
    public string? SslCaLocation { get; set; }

    /// <summary>
    /// librdkafka settings by their librdkafka names, for every client the runtime and
    /// <c>platform kafka</c> create (producers, consumers, admin), applied after the settings
    /// above: e.g. <c>ssl.certificate.location</c> and <c>ssl.key.location</c> for mutual TLS,
    /// <c>client.id</c>. A setting the ones above decide, or one the platform's guarantees rest on
    /// (a consumer's <c>isolation.level</c>, a producer's <c>enable.idempotence</c>), is refused at
    /// startup; so is a name or value librdkafka does not know.
    /// </summary>
    public Dictionary<string, string> Client { get; } = new(StringComparer.Ordinal);

    /// <summary>librdkafka settings of the consumers only, e.g. <c>fetch.max.bytes</c>, <c>fetch.wait.max.ms</c>.</summary>
    public Dictionary<string, string> Consumer { get; } = new(StringComparer.Ordinal);

    /// <summary>librdkafka settings of the producers only, e.g. <c>compression.type</c>, <c>batch.size</c>.</summary>
    public Dictionary<string, string> Producer { get; } = new(StringComparer.Ordinal);
}

/// <summary>The command section of <see cref="PlatformOptions"/> (<c>Platform:Commands</c>).</summary>
public sealed class PlatformCommandOptions
{
    /// <summary>How many times a command is run again after a <see cref="Persistence.ConcurrencyException"/>. Default 5.</summary>
    public int MaxConcurrencyRetries { get; set; } = 5;
}

/// <summary>The outbox relay section of <see cref="PlatformOptions"/> (<c>Platform:Relay</c>).</summary>
public sealed class PlatformRelayOptions
{
    /// <summary>Run the relay as a hosted service. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Events per read and publish. Default 500, and 5,000 on Kafka: there each batch is one Kafka
    /// transaction, whose commit costs the same round trips whatever its size (at 500 the
    /// benchmark's relay spent most of its time committing).
    /// </summary>
    public int? BatchSize { get; set; }

    /// <summary>The batch size the relay uses on <paramref name="transport"/>.</summary>
    /// <param name="transport">The runtime's transport.</param>
    public int BatchSizeOn(TransportKind transport) => BatchSize ?? (transport == TransportKind.Kafka ? 5_000 : 500);

    /// <summary>How long the relay waits once caught up. Default 50 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// On PostgreSQL one instance relays at a time: how often the others try to take over, and
    /// how often the relaying one checks it still holds the lock. Default 2 s.
    /// </summary>
    public TimeSpan LeaderPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long one batch's publish may take before the relay publishes it again (consumers
    /// drop the copies). Default 30 s. Bounds a broker client that never completes a publish,
    /// e.g. a confirm lost in a RabbitMQ restart.
    /// </summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The projection section of <see cref="PlatformOptions"/> (<c>Platform:Projections</c>).</summary>
public sealed class PlatformProjectionOptions
{
    /// <summary>Run the projection engine as a hosted service. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Events applied per transaction. Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Events applied per transaction of a rebuild's shadow table: the whole store is replayed,
    /// so larger batches (fewer round trips and commits, the next batch read while this one is
    /// written) pay off. Default 2000.
    /// </summary>
    public int RebuildBatchSize { get; set; } = ProjectionRebuilder.DefaultBatchSize;

    /// <summary>How long a caught-up projection waits before reading the store again. Default 50 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a projection waits after a failure before trying the same batch again. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts at the same event before its projection is parked (the others go on) until resumed. Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How often a parked projection checks whether <c>platform projections resume</c> released it. Default 1 s.</summary>
    public TimeSpan ResumePollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The inbox section of <see cref="PlatformOptions"/> (<c>Platform:Inbox</c>): how long the message
/// inbox (<c>processed_messages</c>: sagas, reactions, command consumers) remembers a message. The
/// ordered event consumers' inbox is one row per stream and is kept.
/// </summary>
public sealed class PlatformInboxOptions
{
    /// <summary>
    /// Delete message inbox rows older than this. Default (null): keep them for ever, so any
    /// redelivery however late changes nothing. A message redelivered after its row is gone runs
    /// again: choose a time longer than any redelivery can come late, including a Kafka offset
    /// reset or <c>platform relay republish</c>, which refuses to republish events older than
    /// the last cutoff (e.g. <c>7.00:00:00</c>).
    /// </summary>
    public TimeSpan? RetainFor { get; set; }

    /// <summary>How often each runtime instance deletes expired rows, when <see cref="RetainFor"/> is set. Default 1 hour.</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows deleted per statement. Default 10,000.</summary>
    public int CleanupBatchSize { get; set; } = 10_000;
}

/// <summary>Which OTLP encoding the exporter speaks.</summary>
public enum OtlpProtocol
{
    /// <summary>gRPC, usually port 4317.</summary>
    Grpc,

    /// <summary>Protobuf over HTTP, usually port 4318.</summary>
    HttpProtobuf,
}

/// <summary>
/// The telemetry section of <see cref="PlatformOptions"/> (<c>Platform:Telemetry</c>): where the
/// runtime's traces and metrics (<see cref="PlatformTelemetry"/>, MassTransit's and the event
/// store's) are exported through OpenTelemetry.
/// </summary>
public sealed class PlatformTelemetryOptions
{
    /// <summary>
    /// Register OpenTelemetry tracing and metrics. Default (null): only when an exporter is
    /// configured (<see cref="OtlpEndpoint"/> or <see cref="Console"/>); true registers the
    /// providers for exporters the host adds itself (<c>ConfigureOpenTelemetryTracerProvider</c>).
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>The <c>service.name</c> resource attribute. Default <c>platform-runtime</c>.</summary>
    public string ServiceName { get; set; } = "platform-runtime";

    /// <summary>The OTLP collector, e.g. <c>http://otel-collector:4317</c>; no OTLP export when empty.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The OTLP encoding. Default <see cref="OtlpProtocol.Grpc"/>.</summary>
    public OtlpProtocol OtlpProtocol { get; set; } = OtlpProtocol.Grpc;

    /// <summary>Also write traces and metrics to standard output (for trying things out). Default false.</summary>
    public bool Console { get; set; }

    /// <summary>
    /// Let MassTransit report anonymous usage data (the bus's configuration) to masstransit.io
    /// after the bus starts, as it does by default since 8.4. Default false: a runtime makes no
    /// calls beyond the store, the broker and the configured exporters, and on a machine without
    /// internet access the report only logs a warning at every start.
    /// </summary>
    public bool MassTransitUsageReports { get; set; }

    /// <summary>How often projection and relay lag are measured for the lag gauges (one query per projection). Default 5 s.</summary>
    public TimeSpan LagInterval { get; set; } = TimeSpan.FromSeconds(5);

    internal bool IsEnabled => Enabled ?? (!string.IsNullOrWhiteSpace(OtlpEndpoint) || Console);
}
