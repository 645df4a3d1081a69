using Platform.Events;

namespace Platform.Persistence;

/// <summary>
/// Where the outbox relay sends stored events: the runtime implements it on its message bus.
/// Delivery is at least once (a crash between publish and checkpoint publishes again), so
/// consumers deduplicate by <see cref="EventEnvelope.EventId"/>.
/// </summary>
public interface IEventPublisher
{
    /// <summary>Publishes events in global order; returns once the bus has accepted all of them.</summary>
    /// <param name="events">The events, in increasing global position.</param>
    /// <param name="cancellationToken">Cancels publishing.</param>
    Task PublishAsync(IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken);
}
