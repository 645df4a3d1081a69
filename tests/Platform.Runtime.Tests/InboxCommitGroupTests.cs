using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Consumers;
using Platform.Runtime.Messaging;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>The group commit's own decisions, on a store with no runtime around it.</summary>
public sealed class InboxCommitGroupTests
{
    sealed class Delivery(EventEnvelope e, Func<Task>? hold = null)
        : InboxDelivery(new EventHeaders(e.EventId, e.TypeName, e.StreamId, e.StreamVersion, e.GlobalPosition, null, null), CancellationToken.None)
    {
        public bool Ran { get; private set; }

        public override async Task HandleAsync(EventStoreTransaction transaction)
        {
            Ran = true;
            if (hold is not null)
                await hold();
        }
    }

    static EventData Placed() => EventData.Create(new OrderPlaced("customer-1", [new OrderItem("sku-1", 2, 9.5m)], 19m, "1 Main Street", "EUR", "STANDARD"));

    // The guard looks only at an event's latest predecessor and takes one claimed earlier in the
    // same group as done; when that one is turned down (its own predecessor is missing), the event
    // after it must be turned down too, or it would commit ahead of both.
    [SkippableFact]
    public async Task a_group_turns_down_the_events_after_one_it_turned_down_in_the_same_stream()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "groups");
        await using var store = new SqlEventStore(new EventStoreOptions().UseSqlite(database.ConnectionString), OrdersDomain.CreateEventTypeRegistry());
        await store.MigrateAsync();
        await store.AppendAsync("held", "Order", ExpectedVersion.NoStream, [Placed()]);
        await store.AppendAsync("order", "Order", ExpectedVersion.NoStream, [Placed(), Placed(), Placed()]);
        var held = (await store.ReadStreamAsync("held").ToListAsync()).Single();
        var order = await store.ReadStreamAsync("order").ToListAsync();
        string[] types = [OrderPlaced.EventTypeName];

        await using var groups = new InboxCommitGroups(store, batchSize: 16, concurrency: 1);
        var release = new TaskCompletionSource();
        var first = new Delivery(held, () => release.Task);
        var firstOutcome = groups.SubmitAsync("consumer", types, first);
        await Eventually.HoldsAsync(() => Task.FromResult(first.Ran), "the first delivery's transaction running");
        // Versions 2 and 3 wait behind it and go in one group; version 1 never came.
        var second = new Delivery(order[1]);
        var third = new Delivery(order[2]);
        var secondOutcome = groups.SubmitAsync("consumer", types, second);
        var thirdOutcome = groups.SubmitAsync("consumer", types, third);
        release.SetResult();

        Assert.Equal(InboxOutcomeKind.Committed, (await firstOutcome).Kind);
        Assert.Equal(InboxOutcomeKind.OutOfOrder, (await secondOutcome).Kind);
        Assert.Equal(InboxOutcomeKind.OutOfOrder, (await thirdOutcome).Kind);
        Assert.False(second.Ran || third.Ran, "an event ran before its predecessor");
        Assert.True(await store.TryMarkProcessedAsync("consumer", order[2].EventId), "version 3 stayed out of the inbox");
    }
}
