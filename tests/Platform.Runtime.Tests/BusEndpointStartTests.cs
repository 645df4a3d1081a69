using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Commands;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The bus's own endpoint (its response queue) consumes once the runtime has started, so requests
/// made right after start never wait for it (on RabbitMQ MassTransit would start it at the first
/// request, blocking a thread-pool thread per request meanwhile).
/// </summary>
public sealed class BusEndpointStartTests
{
    sealed class ReadyEvents : IReceiveEndpointObserver
    {
        public ConcurrentQueue<(Uri Address, bool Started)> Seen { get; } = new();

        public Task Ready(ReceiveEndpointReady ready)
        {
            Seen.Enqueue((ready.InputAddress, ready.IsStarted));
            return Task.CompletedTask;
        }

        public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;
        public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;
        public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;
    }

    [SkippableFact]
    public async Task the_bus_endpoint_consumes_once_the_runtime_started_and_a_burst_of_requests_right_after_gets_its_responses()
    {
        var ready = new ReadyEvents();
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.RabbitMq,
            services: services => services.AddReceiveEndpointObserver(_ => ready));

        // Without a request yet, the bus's endpoint has reported that it consumes (MassTransit sets
        // the endpoint's started task just before it tells the observers, hence the short wait).
        bool Consuming() => ready.Seen.Any(e => e.Address == host.Bus.Address && e.Started);
        await Eventually.HoldsAsync(() => Task.FromResult(Consuming()), "the bus's endpoint to consume", TimeSpan.FromSeconds(5),
            () => Task.FromResult(string.Join(", ", ready.Seen.Select(e => $"{e.Address} started={e.Started}"))));

        // A burst of requests to the command queue, all at once: every one gets its response.
        var accepted = await Task.WhenAll(Enumerable.Range(0, 40).Select(n =>
            host.Bus.CreateRequestClient<Shop.Orders.PlaceOrder>(host.Options.CommandAddress, RequestTimeout.After(s: 30))
                .GetResponse<CommandAccepted>(Orders.Place(Guid.NewGuid(), n)))).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(accepted, response => Assert.Equal(1, response.Message.Version));
    }
}
