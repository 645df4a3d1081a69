using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Commands;
using Platform.Runtime.Commands;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// A command delivered again under its id (a broker's redelivery, an outbox row sent twice, a
/// client's retry) is answered as handled and not run again: its events' ids derive from its id, so
/// its stored events are found by them, and a second run's events could not be stored anyway.
/// </summary>
public sealed class CommandIdempotencyTests
{
    static async Task<string[]> StreamAsync(RuntimeHost host, Guid id) =>
        (await host.EventStore.ReadStreamAsync(id.ToString("D")).ToListAsync()).Select(e => e.TypeName).ToArray();

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_command_sent_again_under_its_id_is_answered_with_its_first_outcome_and_not_run_again(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var (order, other) = (Guid.NewGuid(), Guid.NewGuid());
        var (place, confirm, cancel) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());

        var placed = await dispatcher.DispatchAsync(Orders.Place(order, 1), new CommandContext(place));
        var placedAgain = await dispatcher.DispatchAsync(Orders.Place(order, 1), new CommandContext(place));
        var confirmed = await dispatcher.DispatchAsync(new ConfirmOrder(order), new CommandContext(confirm));
        // The order is confirmed now, so ConfirmOrder's rule (status Placed) would refuse it: it was handled.
        var confirmedAgain = await dispatcher.DispatchAsync(new ConfirmOrder(order), new CommandContext(confirm));
        await dispatcher.DispatchAsync(new CancelOrder(order, "changed my mind"), new CommandContext(cancel));
        // Later, after another command: the first outcome, not the order's current version.
        var confirmedLate = await dispatcher.DispatchAsync(new ConfirmOrder(order), new CommandContext(confirm));

        Assert.False(placed.Duplicate);
        Assert.Equal(placed with { Duplicate = true }, placedAgain);
        Assert.False(confirmed.Duplicate);
        Assert.Equal(confirmed with { Duplicate = true }, confirmedAgain);
        Assert.Equal(confirmed with { Duplicate = true }, confirmedLate);
        Assert.Equal([OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName, OrderCancelled.EventTypeName], await StreamAsync(host, order));

        // The same id on another aggregate, or for another command, is another command.
        var elsewhere = await dispatcher.DispatchAsync(Orders.Place(other, 2), new CommandContext(place));
        Assert.False(elsewhere.Duplicate);
        Assert.Equal(1, elsewhere.Version);
        var shipOther = await Assert.ThrowsAsync<CommandRejectedException>(() => dispatcher.DispatchAsync(new ShipOrder(order, "track-1"), new CommandContext(place)));
        Assert.Contains("status must be one of [Confirmed]", shipOther.Message);
        // Without an id each dispatch is a command of its own: refused as before.
        await Assert.ThrowsAsync<CommandRejectedException>(() => dispatcher.DispatchAsync(new ConfirmOrder(order)));
    }

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task deliveries_of_one_command_at_once_store_its_events_once(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        for (var round = 0; round < 20; round++)
        {
            var order = Guid.NewGuid();
            var confirm = Guid.CreateVersion7();
            await dispatcher.DispatchAsync(Orders.Place(order, round));
            var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
                Task.Run(() => dispatcher.DispatchAsync(new ConfirmOrder(order), new CommandContext(confirm)))));
            Assert.Single(answers, a => !a.Duplicate);
            Assert.All(answers, a => Assert.Equal(2, a.Version));
            Assert.Equal([OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName], await StreamAsync(host, order));
        }
    }

    // A redelivery from the broker has the message's id again: the command consumer's dispatch
    // finds the command handled and answers, where it used to fault (rejected) or run it again.
    [SkippableTheory]
    [InlineData(Store.Sqlite, Transport.InMemory)]
    [InlineData(Store.Postgres, Transport.RabbitMq)]
    [InlineData(Store.Postgres, Transport.Kafka)]
    public async Task a_command_redelivered_on_the_bus_is_answered_as_a_duplicate(Store store, Transport transport)
    {
        await using var host = await RuntimeHost.StartAsync(store, transport);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var order = Guid.NewGuid();
        await dispatcher.DispatchAsync(Orders.Place(order, 1));
        await dispatcher.DispatchAsync(new ConfirmOrder(order));
        var client = host.Bus.CreateRequestClient<ShipOrder>(host.Options.CommandAddress, RequestTimeout.After(s: 30));
        var messageId = NewId.NextGuid();
        var answers = new List<CommandAccepted>();
        for (var delivery = 0; delivery < 2; delivery++)
            answers.Add((await client.GetResponse<CommandAccepted>(new ShipOrder(order, "track-1"),
                request => request.UseExecute(send => send.MessageId = messageId))).Message);

        Assert.Equal([false, true], answers.Select(a => a.Duplicate));
        Assert.Equal(answers[0] with { Duplicate = true }, answers[1]);
        Assert.Equal(messageId, answers[1].CommandId);
        Assert.Equal([OrderPlaced.EventTypeName, OrderConfirmed.EventTypeName, OrderShipped.EventTypeName], await StreamAsync(host, order));
    }
}
