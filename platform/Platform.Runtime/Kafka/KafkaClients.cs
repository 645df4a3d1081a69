using Confluent.Kafka;
using Platform.Runtime.Configuration;

namespace Platform.Runtime.Kafka;

/// <summary>
/// The librdkafka configuration of every client the runtime and <c>platform kafka</c> create:
/// servers and security from <see cref="PlatformKafkaOptions"/>, then its <c>Client</c> settings,
/// then its <c>Consumer</c> or <c>Producer</c> ones. Each caller sets what its guarantees rest on
/// after that; <see cref="CheckOwnSettings"/> refuses those names in the dictionaries at startup,
/// so a setting never looks applied while it is not.
/// </summary>
public static class KafkaClients
{
    // Decided by the settings of PlatformKafkaOptions, for every client.
    static readonly Dictionary<string, string> ForEvery = new(StringComparer.OrdinalIgnoreCase)
    {
        ["bootstrap.servers"] = "set BootstrapServers",
        ["metadata.broker.list"] = "set BootstrapServers",
        ["security.protocol"] = "set SecurityProtocol",
        ["sasl.mechanism"] = "set SaslMechanism",
        ["sasl.mechanisms"] = "set SaslMechanism",
        ["sasl.username"] = "set SaslUsername",
        ["sasl.password"] = "set SaslPassword",
        ["ssl.ca.location"] = "set SslCaLocation",
    };

    static readonly Dictionary<string, string> ForConsumers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["group.id"] = "each endpoint's consumer group is named after its queue",
        ["enable.auto.offset.store"] = "a record's offset is stored only once its endpoint is done with it",
        ["enable.auto.commit"] = "stored offsets are committed every CommitInterval",
        ["auto.commit.interval.ms"] = "set CommitInterval",
        ["isolation.level"] = "consumers read committed records only, never a relay batch whose transaction was aborted",
        ["auto.offset.reset"] = "set StartFrom",
        ["group.protocol"] = "set GroupProtocol",
    };

    static readonly Dictionary<string, string> ForProducers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["transactional.id"] = "set TransactionalId",
        ["enable.idempotence"] = "the producers are idempotent, so a retried write is never stored twice",
        ["acks"] = "the producers wait for every in-sync replica, as idempotence needs",
        ["request.required.acks"] = "the producers wait for every in-sync replica, as idempotence needs",
        ["dotnet.producer.enable.delivery.reports"] = "each producer decides whether it waits for a record's delivery report",
    };

    /// <summary>Servers, security and the <c>Client</c> settings: what an admin client gets.</summary>
    /// <typeparam name="T">The client's config type.</typeparam>
    /// <param name="options">The Kafka options.</param>
    public static T Config<T>(PlatformKafkaOptions options) where T : ClientConfig, new()
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new T { BootstrapServers = options.BootstrapServers };
        if (options.SecurityProtocol is { Length: > 0 } protocol)
            config.SecurityProtocol = Enum.Parse<SecurityProtocol>(protocol, ignoreCase: true);
        if (options.SaslMechanism is { Length: > 0 } mechanism)
            config.SaslMechanism = Enum.Parse<SaslMechanism>(mechanism, ignoreCase: true);
        config.SaslUsername = options.SaslUsername;
        config.SaslPassword = options.SaslPassword;
        config.SslCaLocation = options.SslCaLocation;
        return With(config, options.Client);
    }

    /// <summary>A consumer's configuration before its caller sets its group and offset handling.</summary>
    /// <param name="options">The Kafka options.</param>
    public static ConsumerConfig Consumer(PlatformKafkaOptions options) => With(Config<ConsumerConfig>(options), options.Consumer);

    /// <summary>A producer's configuration before its caller sets idempotence and acknowledgements.</summary>
    /// <param name="options">The Kafka options.</param>
    public static ProducerConfig Producer(PlatformKafkaOptions options) => With(Config<ProducerConfig>(options), options.Producer);

    static T With<T>(T config, Dictionary<string, string> settings) where T : ClientConfig
    {
        foreach (var (name, value) in settings)
            config.Set(name, value);
        return config;
    }

    /// <summary>
    /// Refuses, with the setting's configuration key and the reason, a librdkafka setting in
    /// <c>Client</c>, <c>Consumer</c> or <c>Producer</c> that the platform decides.
    /// </summary>
    /// <param name="options">The Kafka options.</param>
    /// <exception cref="InvalidOperationException">One of them names such a setting.</exception>
    public static void CheckOwnSettings(PlatformKafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Check(nameof(options.Client), options.Client, ForEvery, ForConsumers, ForProducers);
        Check(nameof(options.Consumer), options.Consumer, ForEvery, ForConsumers);
        Check(nameof(options.Producer), options.Producer, ForEvery, ForProducers);
    }

    static void Check(string section, Dictionary<string, string> settings, params Dictionary<string, string>[] decided)
    {
        foreach (var name in settings.Keys)
        {
            foreach (var reasons in decided)
            {
                if (reasons.TryGetValue(name.Trim(), out var reason))
                    throw new InvalidOperationException(
                        $"Platform:Transport:Kafka:{section}:{name} cannot be set: the platform decides it ({reason}{(reason.StartsWith("set ", StringComparison.Ordinal) ? " instead" : "")}).");
            }
        }
    }

    /// <summary>
    /// Has librdkafka read the <c>Client</c>, <c>Consumer</c> and <c>Producer</c> settings by
    /// building a client with each (disposed at once), so that a name or value it does not know
    /// stops the runtime at startup instead of failing each consumer and batch later. Producers
    /// only: librdkafka reads a consumer's settings on a producer too, and a consumer would look
    /// up a group coordinator for nothing.
    /// </summary>
    /// <param name="options">The Kafka options.</param>
    /// <exception cref="InvalidOperationException">librdkafka refused one; the message names the section.</exception>
    public static void CheckWithLibrdkafka(PlatformKafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Client.Count + options.Consumer.Count + options.Producer.Count == 0)
            return;
        Build(nameof(options.Client), options.Client, Config<ProducerConfig>(options));
        Build(nameof(options.Producer), options.Producer, Producer(options));
        Build(nameof(options.Consumer), options.Consumer, With(Config<ProducerConfig>(options), options.Consumer));
    }

    static void Ignore<TClient>(TClient client, LogMessage message)
    {
    }

    // A name or value librdkafka does not know is the section's; anything else (sasl.username
    // without sasl.password, a certificate file that is not there) is the configuration as a whole.
    // librdkafka may name a setting by its canonical name (compression.codec for compression.type):
    // the message lists the section's names too.
    static void Build(string section, Dictionary<string, string> settings, ProducerConfig config)
    {
        try
        {
            new ProducerBuilder<Null, Null>(config).SetLogHandler(Ignore).Build().Dispose();
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
        {
            throw new InvalidOperationException(
                exception.Message.StartsWith("No such configuration property", StringComparison.Ordinal) || exception.Message.StartsWith("Invalid value", StringComparison.Ordinal)
                    ? $"Platform:Transport:Kafka:{section}: librdkafka refused a setting: {exception.Message} (set there: {string.Join(", ", settings.Keys)})"
                    : $"Platform:Transport:Kafka: librdkafka refused the configuration: {exception.Message}", exception);
        }
    }
}
