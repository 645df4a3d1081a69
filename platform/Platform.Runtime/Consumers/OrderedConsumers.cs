using System.Collections.Concurrent;

namespace Platform.Runtime.Consumers;

/// <summary>
/// The <see cref="IdempotentEventConsumer"/>s this runtime hosts, by CLR type name (the consumer a
/// dead letter names): the name the inbox keys each one's rows by and the event types its order
/// guard counts. <see cref="InboxStarts"/> fills it at start, as it creates each consumer anyway; the
/// replay service reads it to ask the guard about the events it gave up on.
/// </summary>
sealed class OrderedConsumers
{
    readonly ConcurrentDictionary<string, OrderedConsumer> _byType = new(StringComparer.Ordinal);

    public void Add(Type consumerType, IdempotentEventConsumer consumer) =>
        _byType[consumerType.FullName!] = new OrderedConsumer(consumer.InboxName, consumer.HandledTypes);

    public bool TryGet(string consumerType, out OrderedConsumer consumer) => _byType.TryGetValue(consumerType, out consumer!);
}

/// <summary>An ordered consumer's inbox name and the stored type names of the events it handles.</summary>
sealed record OrderedConsumer(string InboxName, IReadOnlyList<string> HandledTypes);
