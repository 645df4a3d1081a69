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
}
