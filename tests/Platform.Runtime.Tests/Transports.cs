using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The transports the transport scenarios run on: one data row per transport, so the Kafka issue
/// adds its transport here (and to <see cref="RuntimeHost"/>) and every scenario runs on it.
/// </summary>
public static class Transports
{
    static readonly Transport[] Every = [Transport.InMemory, Transport.RabbitMq, Transport.Kafka];

    // Kafka keeps an aggregate's order by handing a partition's records over one at a time, so an
    // event that is being retried holds back the events behind it in its partition (other
    // aggregates' events in the same partition included) until it is dead-lettered. The poison
    // scenario asserts that every other aggregate flows meanwhile, which holds on queues only;
    // KafkaTransportTests covers dead letters on Kafka.
    static readonly Transport[] WithoutHeadOfLineBlocking = [Transport.InMemory, Transport.RabbitMq];

    // MassTransit's in-memory transport keeps its queues inside one bus object: two runtime
    // instances (two hosts, two buses) each get queues of their own and cannot compete for one,
    // even in one process. So the two-instance scenario is not run in memory; running it there
    // would test two independent buses, not shared queues.
    static readonly Transport[] SharedByInstances = [Transport.RabbitMq, Transport.Kafka];

    // Transports whose broker a test can stop and start on its own (a dedicated node, see
    // DedicatedBrokers). The in-memory bus has no broker to restart.
    static readonly Transport[] WithRestartableBroker = [Transport.RabbitMq];

    static readonly Store[] Stores = [Store.Sqlite, Store.Postgres];

    /// <summary>Every store with every transport: the matrix of the end-to-end scenarios.</summary>
    public static TheoryData<Store, Transport> EveryStoreAndTransport => Cross(Stores, Every);

    /// <summary>Every store with the transports on which a retried event holds back no other aggregate.</summary>
    public static TheoryData<Store, Transport> EveryStoreAndQueueTransport => Cross(Stores, WithoutHeadOfLineBlocking);

    /// <summary>Every store with the transports on which two runtime instances share queues.</summary>
    public static TheoryData<Store, Transport> EveryStoreAndSharedTransport => Cross(Stores, SharedByInstances);

    /// <summary>PostgreSQL with every transport whose broker a test can restart.</summary>
    public static TheoryData<Store, Transport> PostgresAndRestartableTransport => Cross([Store.Postgres], WithRestartableBroker);

    static TheoryData<Store, Transport> Cross(Store[] stores, Transport[] transports)
    {
        var data = new TheoryData<Store, Transport>();
        foreach (var transport in transports)
            foreach (var store in stores)
                data.Add(store, transport);
        return data;
    }
}
