using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Platform.Runtime.Configuration;
using Platform.Runtime.Sagas;
using Shop.Orders;
using Shop.Orders.Demo;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The README's main job (examples/Orders.Demo) on each store and transport it offers, with a small
/// order count: it exits 0 and its summary says what the database holds.
/// </summary>
public sealed class DemoTests
{
    const int OrderCount = 40;

    // A high cancellation rate, so that a run of 40 orders has cancellations to count.
    static readonly string[] Common = [OrderCount.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cancellations", "0.2", "--keep"];

    [Fact]
    public async Task runs_on_sqlite_and_in_memory_and_its_summary_matches_the_database()
    {
        var (result, output) = await RunAsync(DemoOptions.Parse(Common));
        try
        {
            await AssertSummaryMatchesDatabaseAsync(StoreProvider.Sqlite, result, output);
            Assert.Contains("(SQLite, in-memory transport, one process)", output, StringComparison.Ordinal);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(Path.GetDirectoryName(new SqliteConnectionStringBuilder(result.KeptConnectionString).DataSource)!, recursive: true);
        }
    }

    [SkippableFact]
    public async Task runs_on_postgres_and_rabbitmq_and_its_summary_matches_the_database()
    {
        var (postgres, rabbit) = (RealServices.Postgres, RealServices.RabbitMq);
        var (result, output) = await RunAsync(DemoOptions.Parse([.. Common, "--store", "postgres", "--postgres", postgres, "--transport", "rabbitmq", "--rabbitmq", rabbit.ToString()]));
        try
        {
            await AssertSummaryMatchesDatabaseAsync(StoreProvider.Postgres, result, output);
            Assert.Contains("(PostgreSQL, RabbitMQ, one process)", output, StringComparison.Ordinal);
        }
        finally
        {
            await PostgresDatabases.DropAsync(postgres, result.KeptConnectionString!);
        }
    }

    [SkippableFact]
    public async Task runs_on_postgres_and_kafka_and_its_summary_matches_the_database()
    {
        var postgres = RealServices.Postgres;
        using var kafka = new KafkaMockCluster(brokers: 3);
        var options = DemoOptions.Parse([.. Common, "--postgres", postgres, "--kafka", kafka.BootstrapServers]);
        var (result, output) = await RunAsync(options, cfg =>
        {
            // The mock has no CreateTopics: the run's topics (events, and the commands and replies
            // its endpoints read) are made here, as the runtime tests do.
            cfg.Transport.Kafka.CreateTopics = false;
            cfg.Transport.Kafka.GroupProtocol = Confluent.Kafka.GroupProtocol.Consumer;
            cfg.Transport.Kafka.CommitInterval = TimeSpan.FromMilliseconds(200);
            kafka.CreateTopic(cfg.Transport.Kafka.TopicFormat.Replace("{aggregate}", "order", StringComparison.Ordinal), partitions: 4, replicationFactor: 3);
            foreach (var topic in Platform.Runtime.Kafka.KafkaTopology.MessageTopicsRead(cfg))
                kafka.CreateTopic(topic, partitions: 4, replicationFactor: 3);
        });
        try
        {
            Assert.Equal(TransportKind.Kafka, options.Transport);
            await AssertSummaryMatchesDatabaseAsync(StoreProvider.Postgres, result, output);
            Assert.Contains("(PostgreSQL, Kafka, one process)", output, StringComparison.Ordinal);
        }
        finally
        {
            await PostgresDatabases.DropAsync(postgres, result.KeptConnectionString!);
        }
    }

    [Fact]
    public void a_connection_option_chooses_its_store_or_transport_and_a_missing_one_is_named()
    {
        string? NoEnvironment(string name) => null;
        var options = DemoOptions.Parse(["--postgres", "Host=db", "--rabbitmq", "amqp://mq/"], NoEnvironment);
        Assert.Equal((StoreProvider.Postgres, TransportKind.RabbitMq), (options.Store, options.Transport));
        var defaults = DemoOptions.Parse([], NoEnvironment);
        Assert.Equal((StoreProvider.Sqlite, TransportKind.InMemory, 300, 0.05), (defaults.Store, defaults.Transport, defaults.Orders, defaults.Cancellations));

        var missing = Assert.Throws<ArgumentException>(() => DemoOptions.Parse(["--store", "postgres"], NoEnvironment));
        Assert.Contains("PLATFORM_POSTGRES", missing.Message, StringComparison.Ordinal);
        missing = Assert.Throws<ArgumentException>(() => DemoOptions.Parse(["--transport", "rabbitmq"], NoEnvironment));
        Assert.Contains("PLATFORM_RABBITMQ", missing.Message, StringComparison.Ordinal);
        missing = Assert.Throws<ArgumentException>(() => DemoOptions.Parse(["--transport", "kafka"], NoEnvironment));
        Assert.Contains("--kafka", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DemoOptions.Parse(["--cancellations", "1.5"], NoEnvironment));
        Assert.Throws<ArgumentException>(() => DemoOptions.Parse(["--store", "oracle"], NoEnvironment));
    }

    static async Task<(DemoResult Result, string Output)> RunAsync(DemoOptions options, Action<PlatformOptions>? configure = null)
    {
        var output = new StringWriter();
        var result = await Demo.RunAsync(options with { GivenTimeout = TimeSpan.FromSeconds(60) }, output, output, configure);
        return (result, output.ToString());
    }

    /// <summary>The run settled, and every number of its summary is what the kept database holds.</summary>
    static async Task AssertSummaryMatchesDatabaseAsync(StoreProvider provider, DemoResult result, string output)
    {
        Assert.True(result.ExitCode == 0, "the demo failed:\n" + output);
        var summary = result.Summary!;
        var connectionString = result.KeptConnectionString!;
        await using var connection = provider == StoreProvider.Postgres ? (DbConnection)new NpgsqlConnection(connectionString) : new SqliteConnection(connectionString);
        await connection.OpenAsync();

        // Orders: every order placed has a row, and the statuses add up to the orders placed.
        Assert.Equal(OrderCount, await ScalarAsync(connection, "SELECT count(*) FROM order_summary"));
        Assert.Equal(OrderCount, summary.OrdersByStatus.Sum(s => s.Count));
        foreach (var (status, count) in summary.OrdersByStatus)
            Assert.Equal(count, await ScalarAsync(connection, $"SELECT count(*) FROM order_summary WHERE status = '{status}'"));

        // Cancellations: the plan cancelled some; each accepted one is a Cancelled order (nothing else cancels).
        Assert.True(summary.Cancellations.Asked > 0, "a rate of 0.2 over 40 orders cancels some:\n" + output);
        Assert.Equal(summary.Cancellations.Asked, summary.Cancellations.Accepted + summary.Cancellations.Refused);
        Assert.Equal(summary.Cancellations.Accepted, summary.OrdersIn("Cancelled"));
        Assert.Equal(summary.Cancellations.Accepted, await ScalarAsync(connection, $"SELECT count(*) FROM events WHERE type_name = '{OrderCancelled.EventTypeName}'"));
        Assert.InRange(summary.SagasCancelled, 1, summary.Cancellations.Accepted);

        // Sagas: every one ended, and the summary's counts are the table's.
        var sagas = await new SagaOperations(provider, connectionString).CountByStateAsync();
        Assert.Equal(sagas, summary.SagasByState);
        Assert.Equal(OrderCount, Summary.Ended(sagas));
        Assert.Equal(OrderCount, sagas.Values.Sum());
        // A completed saga ships its order through the reaction, unless the customer cancelled it first.
        Assert.InRange(summary.OrdersIn("Shipped"), 1, summary.SagasIn("Completed"));

        // The store: its head, the legacy v1 events, no lag and no dead letters.
        Assert.Equal(summary.EventsStored, await ScalarAsync(connection, "SELECT max(global_position) FROM events"));
        Assert.Equal(OrderCount / 10, summary.EventsAtV1);
        Assert.All(summary.Projections, p => Assert.Equal(0, p.LagPositions));
        Assert.Equal(0, summary.DeadLetters);

        Assert.Contains($"Cancellations: {summary.Cancellations.Asked} customers cancelled", output, StringComparison.Ordinal);
        Assert.Contains($"(cancelled by the customer {summary.SagasCancelled})", output, StringComparison.Ordinal);
        Assert.Contains($"Database kept: {connectionString}", output, StringComparison.Ordinal);
    }

    static async Task<long> ScalarAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
