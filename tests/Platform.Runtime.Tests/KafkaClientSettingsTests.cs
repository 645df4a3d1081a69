using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Cli.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Kafka;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// librdkafka settings of <c>Platform:Transport:Kafka:Client</c>, <c>Consumer</c> and
/// <c>Producer</c>: where they apply, which the platform refuses, and that <c>platform kafka</c>
/// reaches the cluster with the runtime's settings.
/// </summary>
public sealed class KafkaClientSettingsTests
{
    static PlatformOptions Options(Action<PlatformKafkaOptions> configure)
    {
        var options = new PlatformOptions().UseKafka("kafka:9092");
        options.Transport.Kafka.SecurityProtocol = "SaslSsl";
        options.Transport.Kafka.SaslMechanism = "ScramSha512";
        options.Transport.Kafka.SaslUsername = "runtime";
        configure(options.Transport.Kafka);
        return options;
    }

    static InvalidOperationException Refused(Action<PlatformKafkaOptions> configure) =>
        Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddPlatform(cfg =>
        {
            cfg.UseSqlite("Data Source=unused.db").UseKafka("kafka:9092");
            configure(cfg.Transport.Kafka);
        }));

    [Fact]
    public void client_settings_reach_every_client_and_consumer_or_producer_settings_only_their_own_kind()
    {
        var topology = new KafkaTopology(Options(kafka =>
        {
            kafka.Client["ssl.certificate.location"] = "/etc/kafka/runtime.pem";
            kafka.Consumer["fetch.wait.max.ms"] = "10";
            kafka.Producer["compression.type"] = "lz4";
        }));

        var consumer = topology.ConsumerClient().ToDictionary();
        var producer = topology.ProducerClient().ToDictionary();
        var admin = topology.Client<AdminClientConfig>().ToDictionary();
        foreach (var config in new[] { consumer, producer, admin })
        {
            Assert.Equal("kafka:9092", config["bootstrap.servers"]);
            Assert.Equal("sasl_ssl", config["security.protocol"]);
            Assert.Equal("runtime", config["sasl.username"]);
            Assert.Equal("/etc/kafka/runtime.pem", config["ssl.certificate.location"]);
        }
        Assert.Equal("10", consumer["fetch.wait.max.ms"]);
        Assert.Equal("lz4", producer["compression.type"]);
        Assert.False(consumer.ContainsKey("compression.type"));
        Assert.False(producer.ContainsKey("fetch.wait.max.ms"));
        Assert.False(admin.ContainsKey("fetch.wait.max.ms") || admin.ContainsKey("compression.type"));
    }

    [Theory]
    [InlineData("Consumer", "isolation.level", "read committed")]
    [InlineData("Consumer", "enable.auto.offset.store", "once its endpoint is done")]
    [InlineData("Client", "group.id", "named after its queue")]
    [InlineData("Producer", "enable.idempotence", "never stored twice")]
    [InlineData("Client", "acks", "every in-sync replica")]
    [InlineData("Producer", "transactional.id", "set TransactionalId instead")]
    [InlineData("Client", "sasl.password", "set SaslPassword instead")]
    [InlineData("Consumer", "Bootstrap.Servers", "set BootstrapServers instead")]
    public void a_setting_the_platform_decides_is_refused_with_its_key_and_the_reason(string section, string name, string reason)
    {
        var error = Refused(kafka => (section switch { "Client" => kafka.Client, "Consumer" => kafka.Consumer, _ => kafka.Producer })[name] = "x");
        Assert.Contains($"Platform:Transport:Kafka:{section}:{name} cannot be set", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void a_configuration_librdkafka_cannot_start_a_client_with_stops_the_runtime_at_startup()
    {
        // SASL without a password: the runtime would otherwise fail each consumer and batch later.
        var error = Refused(kafka =>
        {
            kafka.SecurityProtocol = "SaslPlaintext";
            kafka.SaslMechanism = "Plain";
            kafka.SaslUsername = "runtime";
            kafka.Client["client.id"] = "shop-runtime";
        });
        Assert.Contains("Platform:Transport:Kafka: librdkafka refused the configuration: sasl.username and sasl.password must be set", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Consumer", "fetch.wait.maxx.ms", "10")]
    [InlineData("Producer", "compression.type", "zip")]
    [InlineData("Client", "socket.timeout.ms", "soon")]
    public void a_setting_librdkafka_does_not_know_stops_the_runtime_at_startup_with_its_section(string section, string name, string value)
    {
        var error = Refused(kafka => (section switch { "Client" => kafka.Client, "Consumer" => kafka.Consumer, _ => kafka.Producer })[name] = value);
        Assert.Contains($"Platform:Transport:Kafka:{section}: librdkafka refused a setting", error.Message, StringComparison.Ordinal);
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void the_settings_are_read_from_platform_yaml_by_their_librdkafka_names() => WithFile("""
            store:
              provider: sqlite
              connectionString: Data Source=unused.db
            transport:
              kind: kafka
              kafka:
                bootstrapServers: kafka-1:9092
                client:
                  client.id: shop-runtime
                consumer:
                  fetch.wait.max.ms: 10
                producer:
                  compression.type: zstd
            """, file =>
        {
            var services = new ServiceCollection().AddPlatform(new ConfigurationBuilder().AddPlatformYaml(file).Build().GetSection("Platform"));
            var kafka = services.BuildServiceProvider().GetRequiredService<PlatformOptions>().Transport.Kafka;
            Assert.Equal("shop-runtime", kafka.Client["client.id"]);
            Assert.Equal("10", kafka.Consumer["fetch.wait.max.ms"]);
            Assert.Equal("zstd", kafka.Producer["compression.type"]);
        });

    static void WithFile(string yaml, Action<string> test)
    {
        var file = Path.Combine(Path.GetTempPath(), $"platform-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        try
        {
            test(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void platform_kafka_reads_the_runtimes_security_settings_and_refuses_what_the_runtime_refuses() => WithFile("""
            transport:
              kind: kafka
              kafka:
                bootstrapServers: kafka-1:9093
                securityProtocol: SaslPlaintext
                saslMechanism: ScramSha256
                saslUsername: ops
                saslPassword: secret
                client:
                  client.id: ops-cli
            """, file =>
        {
            var kafka = KafkaCommands.Settings(file, servers: null);
            var consumer = KafkaClients.Consumer(kafka);
            Assert.Equal("kafka-1:9093", consumer.BootstrapServers);
            Assert.Equal(SecurityProtocol.SaslPlaintext, consumer.SecurityProtocol);
            Assert.Equal(SaslMechanism.ScramSha256, consumer.SaslMechanism);
            Assert.Equal("ops", consumer.SaslUsername);
            Assert.Equal("secret", consumer.SaslPassword);
            Assert.Equal("ops-cli", consumer.Get("client.id"));
            Assert.Equal("kafka-2:9093", KafkaCommands.Settings(file, servers: "kafka-2:9093").BootstrapServers);

            File.AppendAllText(file, "\n    consumer:\n      isolation.level: read_uncommitted\n");
            var error = Assert.Throws<InvalidOperationException>(() => KafkaCommands.Settings(file, servers: null));
            Assert.Contains("Platform:Transport:Kafka:Consumer:isolation.level cannot be set", error.Message, StringComparison.Ordinal);
        });
}
