using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Context;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Commands;
using Platform.Runtime.Consumers;
using Platform.Runtime.DeadLetters;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>What <see cref="CancelledAfterWorkConsumer"/> saw: each consume's outcome, or its exception.</summary>
sealed class CancellationLog
{
    public ConcurrentQueue<string> Outcomes { get; } = new();
}

/// <summary>
/// An idempotent consumer whose consume is cancelled once its effects ran, as when the endpoint
/// stops or a Kafka partition is taken away between the effects and the commit.
/// </summary>
sealed class CancelledAfterWorkConsumer(SqlEventStore store, CancellationLog log) : IdempotentEventConsumer(store), IConsumer<OrderPlaced>
{
    public const string CreateTableSql = "CREATE TABLE cancelled_effects (event_id VARCHAR(36) PRIMARY KEY)";

    public async Task Consume(ConsumeContext<OrderPlaced> context)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        try
        {
            var firstTime = await ConsumeOnceAsync(new CancellableContext<OrderPlaced>(context, cancel.Token), async (@event, cancellationToken) =>
            {
                await using var insert = @event.CreateCommand();
                insert.CommandText = "INSERT INTO cancelled_effects (event_id) VALUES (@id)";
                var id = insert.CreateParameter();
                id.ParameterName = "id";
                id.Value = @event.Event.EventId.ToString("D");
                insert.Parameters.Add(id);
                await insert.ExecuteNonQueryAsync(cancellationToken);
                await cancel.CancelAsync();
            });
            log.Outcomes.Enqueue(firstTime ? "committed" : "redelivery");
        }
        catch (Exception exception)
        {
            log.Outcomes.Enqueue(exception.GetType().Name);
            throw;
        }
    }

    sealed class CancellableContext<T>(ConsumeContext<T> context, CancellationToken cancellationToken) : ConsumeContextScope<T>(context)
        where T : class
    {
        public override CancellationToken CancellationToken => cancellationToken;
    }
}

public sealed class CommitCancellationTests
{
    // Group commit off: a delivery in a group commits without its token already; this is the
    // delivery's own transaction.
    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_consume_cancelled_after_its_effects_ran_still_commits_them_once(Store store)
    {
        var log = new CancellationLog();
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory,
            services => services.AddSingleton(log),
            cfg =>
            {
                cfg.AddEventConsumer<CancelledAfterWorkConsumer>();
                cfg.Transport.ConsumerCommitBatchSize = 1;
                cfg.Retries.ImmediateRetries = 1;
                cfg.Retries.ExponentialRetries = 0;
                cfg.Projections.Enabled = false;
                cfg.Sagas.Enabled = false;
            });
        await Orders.ExecuteAsync(host.EventStore, CancelledAfterWorkConsumer.CreateTableSql);
        var order = Guid.NewGuid();
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(order, 1));

        await Eventually.HoldsAsync(() => Task.FromResult(!log.Outcomes.IsEmpty), "the consume");
        // The commit is not cut short by the cancelled token: the effects are stored, the consume
        // says so, and nothing is retried or dead-lettered.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(["committed"], log.Outcomes.ToArray());
        Assert.Equal(1, await Orders.CountRowsAsync(host.EventStore, "cancelled_effects"));
        Assert.Empty(await host.Services.GetRequiredService<DeadLetterStore>().ListAsync());
    }
}
