using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.DeadLetters;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>Retries then dead letters on the command queue.</summary>
public sealed class CommandDeadLetterTests
{
    /// <summary>An aggregate store whose saves fail while broken: a database outage as the command handler sees it.</summary>
    sealed class BrokenSaves(SqlEventStore store) : IAggregateStore
    {
        int _saves;

        public volatile bool Broken = true;

        public int Saves => Volatile.Read(ref _saves);

        public Task<LoadedAggregate<TState>> LoadAsync<TState>(AggregateDefinition<TState> definition, string id,
            CancellationToken cancellationToken = default) => store.LoadAsync(definition, id, cancellationToken);

        public Task<StoredCommand?> FindCommandAsync(string id, Guid commandId, string commandType, CancellationToken cancellationToken = default) =>
            store.FindCommandAsync(id, commandId, commandType, cancellationToken);

        public Task<LoadedAggregate<TState>> SaveAsync<TState>(AggregateDefinition<TState> definition, LoadedAggregate<TState> loaded,
            IReadOnlyList<EventData> events, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _saves);
            if (Broken)
                throw new TimeoutException("the database did not answer");
            return store.SaveAsync(definition, loaded, events, cancellationToken);
        }
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite, Transport.InMemory)]
    [InlineData(Store.Postgres, Transport.RabbitMq)]
    public async Task a_command_that_keeps_failing_is_retried_as_configured_then_dead_lettered_and_replays_after_the_fix(Store store, Transport transport)
    {
        await using var host = await RuntimeHost.StartAsync(store, transport,
            services => services.AddSingleton<IAggregateStore>(sp => new BrokenSaves(sp.GetRequiredService<SqlEventStore>())),
            cfg =>
            {
                cfg.Retries.ImmediateRetries = 1;
                cfg.Retries.ExponentialRetries = 2;
                cfg.Retries.MinInterval = TimeSpan.FromMilliseconds(20);
                cfg.Retries.MaxInterval = TimeSpan.FromMilliseconds(40);
                cfg.Retries.ReplayPollInterval = TimeSpan.FromMilliseconds(50);
            });
        var saves = (BrokenSaves)host.Services.GetRequiredService<IAggregateStore>();
        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        var order = Guid.NewGuid();

        var endpoint = await host.Bus.GetSendEndpoint(host.Options.CommandAddress);
        await endpoint.Send(Orders.Place(order, 1));
        // A command carries no stream header: its letter is found by the order id in the payload.
        var letter = await DeadLetterTests.WaitForDeadLetterAsync(letters, order,
            l => l.Consumer == "commands" && l.Payload.Contains(order.ToString("D"), StringComparison.Ordinal));

        Assert.Equal(4, saves.Saves);
        Assert.Equal(4, letter.Attempts);
        Assert.Equal(typeof(TimeoutException).FullName, letter.ExceptionType);
        Assert.Equal(host.Options.CommandQueueName, letter.Endpoint);
        Assert.Equal(typeof(Shop.Orders.PlaceOrder), Type.GetType(letter.MessageType));
        Assert.Equal(0, await host.EventStore.GetStreamVersionAsync(order.ToString("D")));

        saves.Broken = false;
        Assert.True(await letters.RequestReplayAsync(letter.Id));
        await Eventually.HoldsAsync(async () => await host.EventStore.GetStreamVersionAsync(order.ToString("D")) == 1, "the replayed command's event");
        await Eventually.HoldsAsync(async () => await letters.GetAsync(letter.Id) is null, "the replayed letter to be removed");
        Assert.Equal(5, saves.Saves);
    }
}
