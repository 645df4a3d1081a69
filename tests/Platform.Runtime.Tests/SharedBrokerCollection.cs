using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// Tests that publish Orders events on RabbitMQ and are not <see cref="RuntimeBehaviour"/> run
/// alone, after the parallel ones. Each host has queues of its own, but MassTransit publishes to one
/// exchange per message type on the broker, so every host's consumer queue also receives the events
/// of any other host running at the same time; <see cref="RuntimeBehaviour"/> counts what its
/// consumer handled and saw "78 of 64" while the dead-letter tests ran beside it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedBrokerCollection
{
    public const string Name = "Orders events on the shared RabbitMQ exchanges";
}
