using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Platform.Testing;

/// <summary>
/// A Kafka cluster for tests: librdkafka's own mock cluster (<c>rd_kafka_mock_*</c>, inside the
/// native library Confluent.Kafka ships), which speaks the real Kafka protocol on 127.0.0.1 ports,
/// so partitioning, consumer groups, offsets, transactions and the idempotent producer are
/// exercised as against a broker. No Kafka broker package is obtainable on the build machines
/// (see <c>../shared/notes/services-on-this-machine.md</c> for what was measured about the mock).
/// Every client of a test uses <see cref="BootstrapServers"/>; the cluster lives until disposed.
/// </summary>
public sealed unsafe class KafkaMockCluster : IDisposable
{
    static readonly Lazy<Native> Api = new(Native.Load);

    readonly IntPtr _client;
    IntPtr _cluster;

    /// <summary>Starts a mock cluster.</summary>
    /// <param name="brokers">Number of brokers (3: a replication factor of 3 works as in production).</param>
    /// <param name="groupHeartbeatMs">
    /// The heartbeat the cluster asks of consumers in the next-generation group protocol
    /// (<c>GroupProtocol.Consumer</c>); 500 ms rebalances two consumers cleanly and quickly.
    /// </param>
    public KafkaMockCluster(int brokers = 3, int groupHeartbeatMs = 500)
    {
        var api = Api.Value;
        var error = stackalloc byte[512];
        // The mock cluster is owned by a client handle; a producer handle with no brokers does.
        _client = api.New(0 /* RD_KAFKA_PRODUCER */, api.ConfNew(), error, 512);
        if (_client == IntPtr.Zero)
            throw new InvalidOperationException("rd_kafka_new failed: " + Marshal.PtrToStringUTF8((IntPtr)error));
        _cluster = api.MockClusterNew(_client, brokers);
        if (_cluster == IntPtr.Zero)
        {
            api.Destroy(_client);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        }
        BootstrapServers = Marshal.PtrToStringUTF8(api.MockClusterBootstraps(_cluster))!;
        Brokers = brokers;
        api.MockSetGroupConsumerHeartbeatIntervalMs(_cluster, groupHeartbeatMs);
    }

    /// <summary>The <c>bootstrap.servers</c> every client of the test uses.</summary>
    public string BootstrapServers { get; }

    /// <summary>How many brokers the cluster has.</summary>
    public int Brokers { get; }

    /// <summary>
    /// Creates a topic. The mock does not implement the Admin API's CreateTopics (KIP-4); topics
    /// created here have exactly the partitions asked for (auto-created ones get 4).
    /// </summary>
    /// <param name="topic">The topic's name.</param>
    /// <param name="partitions">Its partitions.</param>
    /// <param name="replicationFactor">At most <see cref="Brokers"/>.</param>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        if (!TryCreateTopic(topic, partitions, replicationFactor))
            throw new InvalidOperationException($"rd_kafka_mock_topic_create({topic}, {partitions}, {replicationFactor}) failed: {ErrorCode.TopicAlreadyExists}");
    }

    /// <summary>Creates a topic unless it exists (several runtimes on one cluster each create the topics they read).</summary>
    /// <param name="topic">The topic's name.</param>
    /// <param name="partitions">Its partitions.</param>
    /// <param name="replicationFactor">At most <see cref="Brokers"/>.</param>
    /// <returns>False when the topic existed.</returns>
    public bool TryCreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
        var name = Marshal.StringToCoTaskMemUTF8(topic);
        try
        {
            var code = (ErrorCode)Api.Value.MockTopicCreate(_cluster, name, partitions, replicationFactor);
            if (code is not (ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
                throw new InvalidOperationException($"rd_kafka_mock_topic_create({topic}, {partitions}, {replicationFactor}) failed: {code}");
            return code == ErrorCode.NoError;
        }
        finally
        {
            Marshal.FreeCoTaskMem(name);
        }
    }

    /// <summary>Stops the cluster and frees its client.</summary>
    public void Dispose()
    {
        if (_cluster == IntPtr.Zero)
            return;
        Api.Value.MockClusterDestroy(_cluster);
        _cluster = IntPtr.Zero;
        Api.Value.Destroy(_client);
    }

    /// <summary>
    /// The mock functions, found in the librdkafka Confluent.Kafka loaded. It picks one of several
    /// builds at run time (on Debian 12 the default one lacks libsasl2 and it falls back to another),
    /// so a plain DllImport by name would load a different copy or none: the path is read from
    /// the process's mapped files after Confluent.Kafka has loaded it.
    /// </summary>
    sealed class Native
    {
        public delegate* unmanaged<IntPtr> ConfNew;
        public delegate* unmanaged<int, IntPtr, byte*, nint, IntPtr> New;
        public delegate* unmanaged<IntPtr, void> Destroy;
        public delegate* unmanaged<IntPtr, int, IntPtr> MockClusterNew;
        public delegate* unmanaged<IntPtr, void> MockClusterDestroy;
        public delegate* unmanaged<IntPtr, IntPtr> MockClusterBootstraps;
        public delegate* unmanaged<IntPtr, IntPtr, int, int, int> MockTopicCreate;
        public delegate* unmanaged<IntPtr, int, void> MockSetGroupConsumerHeartbeatIntervalMs;

        public static Native Load()
        {
            _ = Library.Version; // makes Confluent.Kafka load its native library
            var path = File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length == 6 && fields[5].Contains("librdkafka", StringComparison.Ordinal))
                .Select(fields => fields[5].Trim())
                .FirstOrDefault()
                ?? throw new InvalidOperationException("Confluent.Kafka did not load librdkafka from a file this process maps.");
            var handle = NativeLibrary.Load(path);
            IntPtr Export(string name) => NativeLibrary.GetExport(handle, name);
            return new Native
            {
                ConfNew = (delegate* unmanaged<IntPtr>)Export("rd_kafka_conf_new"),
                New = (delegate* unmanaged<int, IntPtr, byte*, nint, IntPtr>)Export("rd_kafka_new"),
                Destroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_destroy"),
                MockClusterNew = (delegate* unmanaged<IntPtr, int, IntPtr>)Export("rd_kafka_mock_cluster_new"),
                MockClusterDestroy = (delegate* unmanaged<IntPtr, void>)Export("rd_kafka_mock_cluster_destroy"),
                MockClusterBootstraps = (delegate* unmanaged<IntPtr, IntPtr>)Export("rd_kafka_mock_cluster_bootstraps"),
                MockTopicCreate = (delegate* unmanaged<IntPtr, IntPtr, int, int, int>)Export("rd_kafka_mock_topic_create"),
                MockSetGroupConsumerHeartbeatIntervalMs = (delegate* unmanaged<IntPtr, int, void>)Export("rd_kafka_mock_set_group_consumer_heartbeat_interval_ms"),
            };
        }
    }
}
