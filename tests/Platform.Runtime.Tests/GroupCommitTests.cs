using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Commands;
using Platform.Runtime.Consumers;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>Holds the first delivery's effects until the test lets go, so the deliveries behind it queue up.</summary>
sealed class Gate
{
    public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource FirstArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentDictionary<string, int> Runs { get; } = new();

    public string? Poisoned { get; set; }
}

/// <summary>An idempotent consumer that writes a row per OrderPlaced in the inbox transaction, held by a <see cref="Gate"/>.</summary>
sealed class GatedConsumer(SqlEventStore store, Gate gate) : IdempotentEventConsumer<OrderPlaced>(store)
{
    public const string CreateTableSql = "CREATE TABLE gated_effects (event_id VARCHAR(36) PRIMARY KEY, stream_id VARCHAR(200) NOT NULL)";

    protected override async Task HandleAsync(TransactionalEventContext<OrderPlaced> context, CancellationToken cancellationToken)
    {
        var stream = context.Event.StreamId;
        gate.Runs.AddOrUpdate(stream, 1, (_, n) => n + 1);
        if (gate.FirstArrived.TrySetResult())
            await gate.Opened.Task.WaitAsync(cancellationToken);
        if (stream == gate.Poisoned)
            throw new InvalidOperationException($"order {stream} is poison");
        await using var insert = context.CreateCommand();
        insert.CommandText = "INSERT INTO gated_effects (event_id, stream_id) VALUES (@id, @stream)";
        Add(insert, "id", context.Event.EventId.ToString("D"));
        Add(insert, "stream", stream);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    static void Add(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

/// <summary>Group commit of idempotent consumers (<see cref="InboxCommitGroups"/>, issue 6's throughput).</summary>
public sealed class GroupCommitTests
{
    // PostgreSQL: on SQLite the held transaction would hold the only write lock, and the commands
    // that queue the other deliveries could not append.
    public static TheoryData<Store, Transport> PostgresAndQueueTransport => new() { { Store.Postgres, Transport.InMemory }, { Store.Postgres, Transport.RabbitMq } };

    const int Partitions = 16;

    // Orders whose stream ids land in different partitions of the endpoint's partitioner (MassTransit
    // hashes the key's UTF-8 bytes with Murmur3), so that none waits in the partitioner behind another.
    static Guid[] OrdersInDistinctPartitions(int count)
    {
        var hash = new MassTransit.Middleware.Murmur3UnsafeHashGenerator();
        var taken = new HashSet<uint>();
        var orders = new List<Guid>();
        while (orders.Count < count)
        {
            var id = Guid.NewGuid();
            if (taken.Add(hash.Hash(Encoding.UTF8.GetBytes(id.ToString("D"))) % Partitions))
                orders.Add(id);
        }
        return orders.ToArray();
    }

    [SkippableTheory]
    [MemberData(nameof(PostgresAndQueueTransport))]
    public async Task deliveries_waiting_behind_a_transaction_commit_together_and_a_failing_one_fails_alone(Store store, Transport transport)
    {
        var batches = new ConcurrentQueue<int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "platform.consumers.commit_batch")
                l.EnableMeasurementEvents(instrument);
        };
        // Other tests' consumers commit at the same time: only this test's consumer counts.
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "consumer", Value: string name } && name == typeof(GatedConsumer).FullName)
                    batches.Enqueue(value);
        });
        listener.Start();

        var gate = new Gate();
        await using var host = await RuntimeHost.StartAsync(store, transport,
            services => services.AddSingleton(gate),
            cfg =>
            {
                cfg.AddEventConsumer<GatedConsumer>();
                cfg.Transport.PrefetchCount = 16;
                cfg.Transport.Partitions = Partitions;
                cfg.Transport.ConsumerCommitBatchSize = 8;
                cfg.Transport.ConsumerCommits = 1;
                cfg.Retries.ImmediateRetries = 1;
                cfg.Retries.ExponentialRetries = 0;
                cfg.Projections.Enabled = false;
                cfg.Sagas.Enabled = false;
            });
        await Orders.ExecuteAsync(host.EventStore, GatedConsumer.CreateTableSql);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var groups = host.Services.GetRequiredService<InboxCommitGroups>();
        var consumer = typeof(GatedConsumer).FullName!;

        // The first order's effects hold the consumer's only transaction; eight more queue behind it,
        // one of them poison.
        var orders = OrdersInDistinctPartitions(9);
        var first = orders[0];
        await dispatcher.DispatchAsync(Orders.Place(first, 0));
        await gate.FirstArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var queued = orders[1..];
        gate.Poisoned = queued[5].ToString("D");
        for (var i = 0; i < queued.Length; i++)
            await dispatcher.DispatchAsync(Orders.Place(queued[i], i + 1));
        await Eventually.HoldsAsync(() => Task.FromResult(groups.Waiting(consumer) == queued.Length),
            "the eight deliveries to wait for the consumer's transaction", state: () => Task.FromResult($"{groups.Waiting(consumer)} waiting"));
        gate.Opened.SetResult();

        var good = queued.Where(q => q.ToString("D") != gate.Poisoned).Append(first).ToArray();
        await Eventually.HoldsAsync(async () => await Orders.CountRowsAsync(host.EventStore, "gated_effects") == good.Length,
            "every order but the poison one to commit its effects");
        await Eventually.HoldsAsync(() => Task.FromResult(gate.Runs.GetValueOrDefault(gate.Poisoned) >= 2),
            "the poison event's retry");

        // The first transaction held one delivery. The eight queued behind it went together; that
        // batch rolled back on the poison event, which failed alone (and again on its retry, should
        // the retry have joined the next batch), and the seven others then committed in one.
        Assert.Equal(1, batches.First());
        Assert.Contains(7, batches);
        Assert.Equal(good.Length, batches.Sum());
        // The poison event ran once per attempt (1 + 1 immediate retry), no more. A delivery that ran
        // before it in a rolled-back batch ran again (which ones depends on the batch's order, which
        // is arrival order); every effect committed exactly once.
        Assert.Equal(2, gate.Runs[gate.Poisoned!]);
        Assert.All(queued.Where(q => q.ToString("D") != gate.Poisoned), q => Assert.InRange(gate.Runs[q.ToString("D")], 1, 3));
        Assert.Equal(good.Length, await Orders.CountRowsAsync(host.EventStore, "gated_effects"));
    }
}
