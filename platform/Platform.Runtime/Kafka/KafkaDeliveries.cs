using System.Collections.Concurrent;
using MassTransit;

namespace Platform.Runtime.Kafka;

/// <summary>
/// Tells the Kafka consumers when a message they handed to an in-process endpoint has been
/// received to the end (consumed, or dead-lettered after its retries) or has faulted: a receive
/// observer on the in-process bus, matched by a header. Only then is the record's offset stored
/// for commit, so an offset is never committed before the work and its inbox row are.
/// </summary>
public sealed class KafkaDeliveries : IReceiveObserver
{
    /// <summary>The header that identifies one hand-over.</summary>
    public const string Header = "Platform-Kafka-Delivery";

    readonly ConcurrentDictionary<string, TaskCompletionSource> _pending = new(StringComparer.Ordinal);

    /// <summary>Registers a hand-over; the task completes when the endpoint is done with it.</summary>
    /// <returns>The id to send in <see cref="Header"/>, and the task.</returns>
    public (string Id, Task Done) Register()
    {
        var id = Guid.NewGuid().ToString("N");
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        return (id, done.Task);
    }

    /// <summary>Forgets a hand-over nobody waits for any more.</summary>
    /// <param name="id">Its id.</param>
    public void Forget(string id) => _pending.TryRemove(id, out _);

    Task IReceiveObserver.PreReceive(ReceiveContext context) => Task.CompletedTask;

    Task IReceiveObserver.PostReceive(ReceiveContext context)
    {
        if (Take(context) is { } done)
            done.TrySetResult();
        return Task.CompletedTask;
    }

    Task IReceiveObserver.PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType) => Task.CompletedTask;

    Task IReceiveObserver.ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception) => Task.CompletedTask;

    Task IReceiveObserver.ReceiveFault(ReceiveContext context, Exception exception)
    {
        if (Take(context) is { } done)
            done.TrySetException(exception);
        return Task.CompletedTask;
    }

    TaskCompletionSource? Take(ReceiveContext context) =>
        context.TransportHeaders.Get<string>(Header) is { } id && _pending.TryRemove(id, out var done) ? done : null;
}
