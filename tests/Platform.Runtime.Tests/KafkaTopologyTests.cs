using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Configuration;
using Platform.Runtime.Kafka;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>The names of the Kafka command and message topics (issue 8) and the checks of their formats.</summary>
public sealed class KafkaTopologyTests
{
    static readonly KafkaTopology Topology = new(new PlatformOptions().UseKafka("kafka:9092"));

    [Theory]
    [InlineData("queue:shop-paymentservice")]
    [InlineData("queue:shop-paymentservice?durable=false&autodelete=true")]
    [InlineData("loopback://localhost/shop-paymentservice")]
    [InlineData("rabbitmq://broker/vhost/shop-paymentservice")]
    public void a_send_goes_to_the_command_topic_of_the_addressed_queue(string address) =>
        Assert.Equal("commands.shop-paymentservice", Topology.CommandTopicFor(new Uri(address)));

    [Fact]
    public void a_published_type_goes_to_a_topic_named_after_its_full_name_in_lower_case_with_only_topic_characters()
    {
        Assert.Equal("messages.shop.payments.paymentcharged", Topology.MessageTopicFor(typeof(Shop.Payments.PaymentCharged)));
        Assert.Equal("messages.platform.runtime.tests.kafkatopologytests-nested", Topology.MessageTopicFor(typeof(Nested)));
        Assert.Equal("Platform.Runtime.Tests.KafkaTopologyTests+Nested", KafkaTopology.MessageTypeName(typeof(Nested)));
    }

    [Theory]
    [InlineData("CommandTopicFormat", "commands", "{queue}")]
    [InlineData("MessageTopicFormat", "messages", "{type}")]
    public void a_topic_format_without_its_placeholder_is_refused_with_the_setting_named(string setting, string value, string placeholder)
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddPlatform(cfg =>
        {
            cfg.UseSqlite("Data Source=unused.db").UseKafka("kafka:9092");
            if (setting == "CommandTopicFormat")
                cfg.Transport.Kafka.CommandTopicFormat = value;
            else
                cfg.Transport.Kafka.MessageTopicFormat = value;
        }));
        Assert.Contains("Platform:Transport:Kafka:" + setting, error.Message, StringComparison.Ordinal);
        Assert.Contains(placeholder, error.Message, StringComparison.Ordinal);
    }

    sealed record Nested;

    [Theory]
    [InlineData(Confluent.Kafka.SyslogLevel.Info, "[thrd:main]: Partition events.order [2] offset reset (at offset 1200) to BEGINNING: fetch failed due to requested offset not available on the broker: Broker: Offset out of range", Microsoft.Extensions.Logging.LogLevel.Error)]
    [InlineData(Confluent.Kafka.SyslogLevel.Info, "[thrd:main]: Partition events.order [2] start fetching at offset 1200", Microsoft.Extensions.Logging.LogLevel.Information)]
    [InlineData(Confluent.Kafka.SyslogLevel.Warning, "[thrd:GroupCoordinator]: Broker transport failure", Microsoft.Extensions.Logging.LogLevel.Warning)]
    public void librdkafka_logs_at_its_own_level_except_a_reset_past_records_retention_removed_which_is_an_error(
        Confluent.Kafka.SyslogLevel level, string message, Microsoft.Extensions.Logging.LogLevel expected) =>
        Assert.Equal(expected, Platform.Runtime.Kafka.KafkaConsumerService.ClientLogLevel(new Confluent.Kafka.LogMessage("rdkafka#consumer-1", level, "FETCH", message)));
}
