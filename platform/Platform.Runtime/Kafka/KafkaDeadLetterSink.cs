using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Platform.Runtime.DeadLetters;

namespace Platform.Runtime.Kafka;

/// <summary>
/// Copies every dead letter to the Kafka dead-letter topic (<c>{QueuePrefix}.dead-letters</c>), keyed
/// by its stream (or message) id, with the message's original headers and the error as
/// <c>Platform-Dead-Letter-*</c> headers, for tools that watch Kafka. <c>platform dlq</c> works on
/// the stored letters, which this topic mirrors.
/// </summary>
public sealed class KafkaDeadLetterSink : IDeadLetterSink, IDisposable
{
    readonly KafkaTopology _topology;
    readonly Lazy<IProducer<string, string>> _producer;

    /// <summary>Creates the sink; it connects on the first letter.</summary>
    /// <param name="topology">Topics and client settings.</param>
    public KafkaDeadLetterSink(KafkaTopology topology)
    {
        _topology = topology;
        _producer = new Lazy<IProducer<string, string>>(() =>
        {
            var config = topology.ProducerClient();
            config.EnableIdempotence = true;
            config.Acks = Acks.All;
            return new ProducerBuilder<string, string>(config).Build();
        });
    }

    /// <inheritdoc />
    public async Task CopyAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await _topology.EnsureTopicAsync(_topology.DeadLetterTopic, cancellationToken).ConfigureAwait(false);
        var headers = new Headers();
        foreach (var (name, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(letter.Headers) ?? [])
            headers.Add(name, Encoding.UTF8.GetBytes(value));
        void Add(string name, string? value)
        {
            if (value is not null)
                headers.Add("Platform-Dead-Letter-" + name, Encoding.UTF8.GetBytes(value));
        }
        Add("Id", letter.Id.ToString("D"));
        Add("Consumer", letter.Consumer);
        Add("Endpoint", letter.Endpoint);
        Add("Message-Type", letter.MessageType);
        Add("Exception-Type", letter.ExceptionType);
        Add("Exception-Message", letter.ExceptionMessage);
        Add("Attempts", letter.Attempts.ToString(CultureInfo.InvariantCulture));
        Add("Failed-At", letter.FailedAt.ToString("O", CultureInfo.InvariantCulture));
        await _producer.Value.ProduceAsync(_topology.DeadLetterTopic, new Message<string, string>
        {
            Key = letter.StreamId ?? letter.MessageId ?? letter.Id.ToString("D"),
            Value = letter.Payload,
            Headers = headers,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Flushes and closes the producer.</summary>
    public void Dispose()
    {
        if (!_producer.IsValueCreated)
            return;
        _producer.Value.Flush(TimeSpan.FromSeconds(5));
        _producer.Value.Dispose();
    }
}
