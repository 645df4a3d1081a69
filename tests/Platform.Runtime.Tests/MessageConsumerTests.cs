using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Xunit;

namespace Platform.Runtime.Tests;

public sealed record ShipParcel(Guid ParcelId, int DelayMilliseconds, bool FailFirstAttempt);

public sealed record ParcelShipped(Guid ParcelId);

/// <summary>What the parcel service did, and what its published events reached.</summary>
public sealed class ParcelLedger
{
    int _running;
    int _mostAtOnce;

    public ConcurrentDictionary<Guid, int> Attempts { get; } = new();

    public ConcurrentDictionary<Guid, int> Shipped { get; } = new();

    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

    internal int Enter()
    {
        var now = Interlocked.Increment(ref _running);
        int seen;
        while (now > (seen = Volatile.Read(ref _mostAtOnce)) && Interlocked.CompareExchange(ref _mostAtOnce, now, seen) != seen)
        {
        }
        return now;
    }

    internal void Leave() => Interlocked.Decrement(ref _running);
}

/// <summary>A service's consumer of a command that belongs to no stream: it publishes, then works.</summary>
public sealed class ParcelService(ParcelLedger ledger) : IConsumer<ShipParcel>
{
    public async Task Consume(ConsumeContext<ShipParcel> context)
    {
        ledger.Enter();
        try
        {
            var attempt = ledger.Attempts.AddOrUpdate(context.Message.ParcelId, 1, (_, n) => n + 1);
            await context.Publish(new ParcelShipped(context.Message.ParcelId));
            await Task.Delay(context.Message.DelayMilliseconds);
            if (context.Message.FailFirstAttempt && attempt == 1)
                throw new InvalidOperationException("the carrier timed out");
        }
        finally
        {
            ledger.Leave();
        }
    }
}

public sealed class ParcelObserver(ParcelLedger ledger) : IConsumer<ParcelShipped>
{
    public Task Consume(ConsumeContext<ParcelShipped> context)
    {
        ledger.Shipped.AddOrUpdate(context.Message.ParcelId, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}

/// <summary>
/// <c>AddMessageConsumer</c>: a service's consumer of commands and published messages runs them
/// concurrently, once per message id, and what it publishes leaves only with a committed attempt.
/// </summary>
public sealed class MessageConsumerTests
{
    static Task<RuntimeHost> StartAsync(Store store, Transport transport, ParcelLedger ledger, Action<PlatformOptions> consumers) =>
        RuntimeHost.StartAsync(store, transport, services => services.AddSingleton(ledger), cfg =>
        {
            cfg.Sagas.Enabled = true; // the outbox and its poller
            cfg.Sagas.PrefetchCount = 8;
            cfg.AddEventConsumer<ParcelObserver>();
            consumers(cfg);
        });

    static async Task<ISendEndpoint> ParcelQueueAsync(RuntimeHost host) =>
        await host.Bus.GetSendEndpoint(RetryPipeline.EndpointAddress(host.Options, host.Options.EventQueueName(typeof(ParcelService))));

    [SkippableTheory]
    [MemberData(nameof(StreamReplayTests.Transports), MemberType = typeof(StreamReplayTests))]
    public async Task commands_without_a_stream_run_concurrently_once_each_and_publish_only_what_committed(Store store, Transport transport)
    {
        var ledger = new ParcelLedger();
        await using var host = await StartAsync(store, transport, ledger, cfg => cfg.AddMessageConsumer<ParcelService>());
        var queue = await ParcelQueueAsync(host);

        var parcels = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var parcel in parcels)
            await queue.Send(new ShipParcel(parcel, 300, FailFirstAttempt: false));
        // Delivered twice with one message id (a redelivery): it runs once.
        var twice = Guid.NewGuid();
        var messageId = NewId.NextGuid();
        for (var n = 0; n < 2; n++)
            await queue.Send(new ShipParcel(twice, 0, FailFirstAttempt: false), context => context.MessageId = messageId);
        // The first attempt publishes, then fails: its publish is rolled back with it.
        var retried = Guid.NewGuid();
        await queue.Send(new ShipParcel(retried, 0, FailFirstAttempt: true));

        var all = parcels.Append(twice).Append(retried).ToArray();
        await Eventually.HoldsAsync(() => Task.FromResult(all.All(ledger.Shipped.ContainsKey)), "every parcel's event",
            state: () => Task.FromResult($"shipped {ledger.Shipped.Count} of {all.Length}"));
        // Anything sent twice would have been delivered by now, the relay and the poller being quick here.
        await Task.Delay(500);
        Assert.All(all, parcel => Assert.Equal(1, ledger.Shipped[parcel]));
        Assert.Equal(1, ledger.Attempts[twice]);
        Assert.Equal(2, ledger.Attempts[retried]);
        // SQLite has one writer, and each message's transaction (its inbox row first) holds it while
        // the consumer works; on Kafka the records' keys spread them over partitions, usually but
        // not surely several.
        if (store == Store.Postgres && transport != Transport.Kafka)
            Assert.True(ledger.MostAtOnce > 1, $"at most {ledger.MostAtOnce} at once");
    }

    // Why it exists: an event consumer runs one stream's messages one at a time, and messages that
    // belong to no stream are all one stream to it (on PostgreSQL, where the store would let them run at once).
    [SkippableFact]
    public async Task an_event_consumer_runs_messages_without_a_stream_one_at_a_time()
    {
        var ledger = new ParcelLedger();
        await using var host = await StartAsync(Store.Postgres, Transport.InMemory, ledger, cfg => cfg.AddEventConsumer<ParcelService>());
        var queue = await ParcelQueueAsync(host);
        var parcels = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var parcel in parcels)
            await queue.Send(new ShipParcel(parcel, 100, FailFirstAttempt: false));
        await Eventually.HoldsAsync(() => Task.FromResult(parcels.All(ledger.Attempts.ContainsKey)), "every parcel handled");
        Assert.Equal(1, ledger.MostAtOnce);
    }

    [SkippableFact]
    public async Task a_message_consumer_without_the_saga_outbox_is_refused_at_startup()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory,
            configure: cfg => cfg.AddMessageConsumer<ParcelService>()));
        Assert.Contains("AddMessageConsumer<ParcelService> needs Platform:Sagas:Enabled", refused.Message, StringComparison.Ordinal);
    }
}
