using Microsoft.Extensions.DependencyInjection;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Persistence;
using MassTransit;
using Platform.Commands;
using Platform.Messaging;
using Platform.Runtime.Commands;
using Platform.Runtime.DeadLetters;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>The command path against a writer that gets to the aggregate first.</summary>
public sealed class ConcurrencyRetryTests
{
    /// <summary>
    /// Before each armed save, another writer confirms the order (appends OrderConfirmed at the
    /// loaded version), so the save loses the race exactly as it would against a second instance.
    /// </summary>
    sealed class RivalWriter(SqlEventStore store) : IAggregateStore
    {
        int _armed;

        public int ContestedSaves;

        public void Arm(int conflicts) => Volatile.Write(ref _armed, conflicts);

        public Task<LoadedAggregate<TState>> LoadAsync<TState>(AggregateDefinition<TState> definition, string id,
            CancellationToken cancellationToken = default) => store.LoadAsync(definition, id, cancellationToken);

        public Task<StoredCommand?> FindCommandAsync(string id, Guid commandId, string commandType, CancellationToken cancellationToken = default) =>
            store.FindCommandAsync(id, commandId, commandType, cancellationToken);

        public async Task<LoadedAggregate<TState>> SaveAsync<TState>(AggregateDefinition<TState> definition, LoadedAggregate<TState> loaded,
            IReadOnlyList<EventData> events, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Decrement(ref _armed) >= 0)
            {
                Interlocked.Increment(ref ContestedSaves);
                await store.AppendAsync(loaded.Id, definition.AggregateType, ExpectedVersion.Exactly(loaded.Version),
                    [EventData.Create(new OrderConfirmed())], cancellationToken);
            }
            return await store.SaveAsync(definition, loaded, events, cancellationToken);
        }
    }

    static Task<RuntimeHost> StartAsync(Store store, int maxRetries) =>
        RuntimeHost.StartAsync(store, Transport.InMemory,
            services => services.AddSingleton<IAggregateStore>(sp => new RivalWriter(sp.GetRequiredService<SqlEventStore>())),
            cfg => cfg.Commands.MaxConcurrencyRetries = maxRetries);

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_command_that_loses_a_concurrency_race_is_run_again_on_the_new_state(Store store)
    {
        await using var host = await StartAsync(store, maxRetries: 3);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var rival = (RivalWriter)host.Services.GetRequiredService<IAggregateStore>();
        var id = Guid.NewGuid();
        var correlation = Guid.NewGuid().ToString("D");
        await dispatcher.DispatchAsync(Orders.Place(id, 1));

        rival.Arm(1);
        var accepted = await dispatcher.DispatchAsync(new CancelOrder(id, "too slow"), new CommandContext(CorrelationId: correlation));

        Assert.Equal(2, accepted.Attempts);
        Assert.Equal(3, accepted.Version);
        Assert.Equal(1, rival.ContestedSaves);
        var stream = await host.EventStore.ReadStreamAsync(id.ToString("D")).ToListAsync();
        Assert.Equal([OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName, OrderCancelled.EventTypeName],
            stream.Select(e => e.TypeName));
        Assert.Equal(correlation, stream[2].CorrelationId);
        Assert.Equal(accepted.CommandId.ToString("D"), stream[2].CausationId);
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_command_that_keeps_losing_gives_up_after_the_configured_retries(Store store)
    {
        await using var host = await StartAsync(store, maxRetries: 2);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var rival = (RivalWriter)host.Services.GetRequiredService<IAggregateStore>();
        var id = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(id, 1));

        rival.Arm(int.MaxValue);
        await Assert.ThrowsAsync<Platform.Persistence.ConcurrencyException>(() => dispatcher.DispatchAsync(new CancelOrder(id, "too slow")));

        Assert.Equal(3, rival.ContestedSaves);
        Assert.Equal(4, await host.EventStore.GetStreamVersionAsync(id.ToString("D")));
    }

    // The version the sender read (an HTTP API's If-Match): the command runs on it or not at all.
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_command_sent_with_the_version_its_sender_read_runs_only_on_that_version(Store store)
    {
        await using var host = await StartAsync(store, maxRetries: 3);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var rival = (RivalWriter)host.Services.GetRequiredService<IAggregateStore>();
        var (id, other) = (Guid.NewGuid(), Guid.NewGuid());
        await dispatcher.DispatchAsync(Orders.Place(id, 1));

        var stale = await Assert.ThrowsAsync<CommandVersionConflictException>(() =>
            dispatcher.DispatchAsync(new ConfirmOrder(id), new CommandContext(ExpectedVersion: 0)));
        Assert.Equal((0, 1), (stale.ExpectedVersion, stale.ActualVersion));
        var confirm = Guid.CreateVersion7();
        var confirmed = await dispatcher.DispatchAsync(new ConfirmOrder(id), new CommandContext(confirm, ExpectedVersion: 1));
        Assert.Equal(2, confirmed.Version);
        // Sent again (a client's retry of a request whose answer it lost): handled, not stale.
        Assert.Equal(confirmed with { Duplicate = true },
            await dispatcher.DispatchAsync(new ConfirmOrder(id), new CommandContext(confirm, ExpectedVersion: 1)));

        // Another writer between the load and the save: refused, not judged again on the new state
        // (without an expected version the same race reruns the command, as above).
        await dispatcher.DispatchAsync(Orders.Place(other, 2));
        rival.Arm(1);
        var raced = await Assert.ThrowsAsync<CommandVersionConflictException>(() =>
            dispatcher.DispatchAsync(new CancelOrder(other, "too slow"), new CommandContext(ExpectedVersion: 1)));
        Assert.Equal((1, 2), (raced.ExpectedVersion, raced.ActualVersion));
        Assert.Equal(1, rival.ContestedSaves);
        Assert.Equal([OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName],
            (await host.EventStore.ReadStreamAsync(other.ToString("D")).ToListAsync()).Select(e => e.TypeName));
    }

    [SkippableFact]
    public async Task the_expected_version_header_refuses_a_command_on_another_version_with_a_fault_and_no_dead_letter()
    {
        await using var host = await StartAsync(Store.Sqlite, maxRetries: 3);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var id = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(id, 1));
        var client = host.Bus.CreateRequestClient<ConfirmOrder>(host.Options.CommandAddress, RequestTimeout.After(s: 30));
        Task<Response<CommandAccepted>> Send(string version) => client.GetResponse<CommandAccepted>(new ConfirmOrder(id),
            request => request.UseExecute(send => send.Headers.Set(PlatformHeaders.ExpectedVersion, version)));

        var stale = await Assert.ThrowsAsync<RequestFaultException>(() => Send("0"));
        Assert.Equal(typeof(CommandVersionConflictException).FullName, stale.Fault!.Exceptions.Single().ExceptionType);
        var unreadable = await Assert.ThrowsAsync<RequestFaultException>(() => Send("latest"));
        Assert.Contains("not a version", unreadable.Fault!.Exceptions.Single().Message);
        Assert.Equal(2, (await Send("1")).Message.Version);
        // Answers, not failures: nothing retried into the dead letters.
        Assert.Empty(await host.Services.GetRequiredService<DeadLetterStore>().ListAsync());
    }
}
