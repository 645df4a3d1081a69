using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.Runtime.Messaging;

/// <summary>
/// Starts consuming from the bus's own endpoint (where responses to its requests arrive) with the
/// runtime, not at its first request. On RabbitMQ MassTransit consumes from that queue only once a
/// handler is connected to it, which the first request client's request does, and until it consumes
/// every request connecting meanwhile blocks its thread-pool thread (<c>ConnectRequestPipe</c> waits
/// for the endpoint synchronously). A burst of requests right after start, such as a gateway sends
/// to the command queue, so held one thread each while starting the endpoint needed threads of the
/// same pool: in a test of two instances, 20 concurrent requests held 30 threads and nothing moved
/// for 11 s until the pool had grown. Here one dedicated thread makes that first connection and the
/// host's start awaits it.
/// </summary>
sealed class BusEndpointStart(IBus bus, ILogger<BusEndpointStart> logger) : IHostedService
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var connecting = Task.Factory.StartNew(
            () => bus.ConnectRequestPipe(Guid.NewGuid(), Pipe.Empty<ConsumeContext<Started>>()).Disconnect(),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await connecting.WaitAsync(Bound, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The bus started (the host waits for it), so this is a slow broker, not a broken one:
            // the endpoint keeps starting, and requests wait for it as MassTransit has them do.
            logger.LogWarning("The bus's own endpoint {Address} did not start consuming within {Bound}; requests made before it does block a thread each",
                bus.Address, Bound);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>No message of this type is ever sent: the connection only starts the endpoint.</summary>
    sealed record Started;
}
