using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Confluent.Kafka;
using MassTransit;
using MassTransit.Mediator;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Kafka;

/// <summary>
/// The consuming side of the Kafka transport. Every endpoint of the in-process bus (the command
/// queue, event consumers, sagas, reactions) has a Kafka consumer group of its own, named after its
/// queue, subscribed to every event topic when it consumes stored events, to its command topic
/// (what is sent to its queue) and to the message topics of the types it consumes (replies).
/// Records of one key in a partition are handed to the endpoint one after another, each only after
/// the one before it was consumed (or dead-lettered), so an aggregate's events are processed in
/// version order; other keys and partitions run in parallel. A member takes at most
/// <c>MaxBuffered</c> records, and <c>MaxBufferedBytes</c> bytes of them, from the client ahead of
/// its endpoint (partitions stuck behind one record do not count); the rest waits in librdkafka's buffer, off the .NET heap. The hand-over is a send to the
/// endpoint's own MassTransit mediator, configured by the same <see cref="PlatformBus.Endpoints"/>
/// as the bus's receive endpoint (retries, dead letters, inbox, the consumer or saga; no partitioner,
/// since the group keeps each key's order itself),
/// so the generated code runs unchanged, without a second serialization and queue per record: the
/// send completes when the pipeline is done with the record. A record's
/// offset is stored for commit only after its endpoint is done, and the stored offsets are
/// committed every <c>CommitInterval</c> and when partitions are revoked or the runtime stops:
/// after a crash or a rebalance the new owner starts after the last processed record, and what it
/// sees again is skipped by the endpoint's inbox. A record the endpoint consumes by its headers but
/// cannot read is dead-lettered at once; a stored event of a schema version newer than this build
/// knows is held, with its key's later records, for an instance of the newer build.
/// </summary>
public sealed partial class KafkaConsumerService : BackgroundService
{
    static readonly Meter Meter = PlatformTelemetry.Meter;
    static readonly ConcurrentDictionary<(string Group, string Topic, int Partition), long> Lag = new();
    static readonly ObservableGauge<long> LagGauge = Meter.CreateObservableGauge("platform.kafka.consumer_lag",
        () => Lag.Select(l => new Measurement<long>(l.Value,
            new KeyValuePair<string, object?>("group", l.Key.Group), new KeyValuePair<string, object?>("topic", l.Key.Topic),
            new KeyValuePair<string, object?>("partition", l.Key.Partition))),
        "{message}", "Records of a partition a consumer group has not processed yet: the high watermark minus the next offset to process.");

    readonly KafkaTopology _topology;
    readonly EventTypeRegistry _registry;
    readonly PlatformOptions _options;
    readonly IReadOnlyList<KafkaEndpoint> _endpoints;
    readonly Dictionary<string, IMediator> _pipelines;
    readonly ILogger<KafkaConsumerService> _logger;
    readonly DeadLetterStore _deadLetters;
    readonly IDeadLetterSink? _deadLetterSink;
    readonly ConcurrentDictionary<string, long> _heldRemindedAt = new(StringComparer.Ordinal);

    /// <summary>Creates the service.</summary>
    public KafkaConsumerService(IBusRegistrationContext context, IBus bus, KafkaTopology topology, KafkaSendEndpointProvider sends,
        EventTypeRegistry registry, PlatformOptions options, DomainCatalog catalog, DeadLetterStore deadLetters, ILogger<KafkaConsumerService> logger,
        IDeadLetterSink? deadLetterSink = null)
    {
        _deadLetters = deadLetters;
        _deadLetterSink = deadLetterSink;
        _topology = topology;
        _registry = registry;
        _options = options;
        _endpoints = KafkaTopology.Endpoints(options, catalog);
        _logger = logger;
        var onTheBus = new BusConsumeContextFilter(bus, sends);
        _pipelines = PlatformBus.Endpoints(context, options, catalog, endpoint => endpoint.ConfigureConsumeTopology = false)
            .ToDictionary(endpoint => endpoint.Queue, endpoint => Bus.Factory.CreateMediator(mediator =>
            {
                mediator.AddPrePipeSpecification(new FilterSpecification(onTheBus));
                endpoint.Configure(mediator);
            }), StringComparer.Ordinal);
    }

    /// <summary>The consumer lag of every group, topic and partition this process consumes, as last measured.</summary>
    public static IReadOnlyDictionary<(string Group, string Topic, int Partition), long> ConsumerLag => Lag;

    /// <summary>The most records each group's member in this process held at once (tests check <c>MaxBuffered</c> with it).</summary>
    internal static ConcurrentDictionary<string, int> PeakHeld { get; } = new(StringComparer.Ordinal);

    /// <summary>The most bytes of records each group's member in this process held at once (for <c>MaxBufferedBytes</c>).</summary>
    internal static ConcurrentDictionary<string, long> PeakHeldBytes { get; } = new(StringComparer.Ordinal);

    int _assigned;

    /// <summary>How many partitions this runtime's group members hold now, over all their groups (tests wait for a rebalance with it).</summary>
    internal int AssignedPartitions => Volatile.Read(ref _assigned);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(_endpoints.Select(endpoint => RunOnOwnThread(endpoint, stoppingToken))).ConfigureAwait(false);
        foreach (var pipeline in _pipelines.Values.OfType<IAsyncDisposable>())
            await pipeline.DisposeAsync().ConfigureAwait(false);
    }

    // librdkafka's poll blocks: each group member polls on a thread of its own, never on the
    // thread pool, which a few blocked threads starve on a small machine (the first version of
    // this loop ran at 2k records/s on 2 cores because of that).
    Task RunOnOwnThread(KafkaEndpoint endpoint, CancellationToken stoppingToken)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Run(endpoint, stoppingToken);
            finished.TrySetResult();
        })
        {
            IsBackground = true,
            Name = "kafka " + endpoint.Queue,
        };
        thread.Start();
        return finished.Task;
    }

    void Run(KafkaEndpoint endpoint, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                new GroupMember(this, endpoint).Run(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                _logger.LogError(exception, "Kafka consumer of {Endpoint} failed; it rejoins its group", endpoint.Queue);
                if (stoppingToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(1)))
                    return;
            }
        }
    }

    // librdkafka's own log at its level, except the reset of a position the cluster no longer has
    // (retention removed records before the group processed them): those records are skipped, so
    // it is an error an operator must see.
    void LogClient(string queue, LogMessage message) =>
        _logger.Log(ClientLogLevel(message), "Kafka consumer of {Endpoint}: {Facility} {Message}", queue, message.Facility, message.Message);

    internal static LogLevel ClientLogLevel(LogMessage message) =>
        message.Message.Contains("Offset out of range", StringComparison.Ordinal)
            ? LogLevel.Error
            : (LogLevel)message.LevelAs(LogLevelType.MicrosoftExtensionsLogging);
}
