using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Commands;
using Platform.Runtime.Projections;
using Platform.Testing;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>Reading one's own writes: a command's position, and waiting for a projection to reach it.</summary>
public sealed class ProjectionConsistencyTests
{
    const string Summary = OrderSummaryProjection.ProjectionName;
    static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task after_waiting_for_the_commands_position_the_read_model_shows_the_command(Store store)
    {
        await using var host = await RuntimeHost.StartAsync(store, Transport.InMemory);
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var consistency = host.Services.GetRequiredService<ProjectionConsistency>();
        var readModels = host.Services.GetRequiredService<ReadModels>();

        for (var n = 0; n < 10; n++)
        {
            var id = Guid.NewGuid();
            var placed = await dispatcher.DispatchAsync(Orders.Place(id, n));
            var confirmed = await dispatcher.DispatchAsync(new ConfirmOrder(id));
            var stream = (await Orders.ReadAllEventsAsync(host.EventStore)).Where(e => e.StreamId == id.ToString("D")).ToArray();
            Assert.Equal([stream[0].GlobalPosition, stream[1].GlobalPosition], [placed.Position, confirmed.Position]);

            Assert.Equal(ProjectionWait.Reached, await consistency.WaitForAsync(Summary, confirmed, Long));
            // Read at once, no retry: the row is there and confirmed.
            var row = (await Orders.ReadSummariesAsync(host)).Single(r => r.OrderId == id);
            Assert.Equal(("Confirmed", confirmed.Position), (row.Status, row.LastAppliedPosition));
            // The read side's own context reads the store's database when no replica is set.
            await using var rows = await readModels.OpenAsync(Summary);
            Assert.Equal("Confirmed", (await rows.Set<OrderSummary>().SingleAsync(r => r.OrderId == id)).Status);
        }
        Assert.False(readModels.OnReplica);
        await Assert.ThrowsAsync<ArgumentException>(() => readModels.OpenAsync("NoSuchProjection"));

        // The position alone works too; an unknown projection is named with the loaded ones.
        var again = await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 99));
        Assert.Equal(ProjectionWait.Reached, await consistency.WaitForAsync(Summary, again.Position, Long));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => consistency.WaitForAsync("NoSuchProjection", again, Long));
        Assert.Contains(Summary, error.Message, StringComparison.Ordinal);
    }

    // A process that dispatches but does not run the projection engine reads the checkpoint another
    // instance moves; a parked projection answers at once instead of running out the timeout.
    [SkippableFact]
    public async Task without_an_engine_here_the_wait_follows_the_stored_checkpoint_and_reports_a_parked_projection()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory, configure: cfg =>
        {
            cfg.Projections.Enabled = false;
            cfg.Projections.PollInterval = TimeSpan.FromMilliseconds(20);
        });
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var consistency = host.Services.GetRequiredService<ProjectionConsistency>();
        var accepted = await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 1));

        Assert.Equal(ProjectionWait.TimedOut, await consistency.WaitForAsync(Summary, accepted, TimeSpan.FromMilliseconds(200)));
        var waiting = consistency.WaitForAsync(Summary, accepted, Long);
        await host.EventStore.SaveCheckpointAsync("projection:" + Summary, accepted.Position);
        Assert.Equal(ProjectionWait.Reached, await waiting);

        var later = await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 2));
        await host.EventStore.SaveCheckpointAsync(ProjectionEngine.ParkedFlagName(Summary), later.Position);
        Assert.Equal(ProjectionWait.Parked, await consistency.WaitForAsync(Summary, later, Long).WaitAsync(TimeSpan.FromSeconds(5)));
    }

    // A service reading its read models from a replica waits on the replica's checkpoint: here a
    // second database stands in for a replica that has not replayed the commit yet.
    [SkippableFact]
    public async Task a_waiter_reading_from_another_database_follows_that_databases_checkpoint()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory);
        await using var replicaDatabase = await TestDatabase.CreateAsync(Store.Sqlite, "replica");
        await using var replica = new Platform.EventStore.Storage.SqlEventStore(
            new Platform.EventStore.Configuration.EventStoreOptions().UseSqlite(replicaDatabase.ConnectionString), host.EventStore.Registry);
        await replica.MigrateAsync();
        var waiter = ProjectionConsistency.ReadingFrom(host.Services.GetRequiredCatalog(), replica, TimeSpan.FromMilliseconds(20));
        var accepted = await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(Guid.NewGuid(), 1));
        Assert.Equal(ProjectionWait.Reached, await host.Services.GetRequiredService<ProjectionConsistency>().WaitForAsync(Summary, accepted, Long));

        Assert.Equal(ProjectionWait.TimedOut, await waiter.WaitForAsync(Summary, accepted, TimeSpan.FromMilliseconds(200)));
        var waiting = waiter.WaitForAsync(Summary, accepted, Long);
        await replica.SaveCheckpointAsync("projection:" + Summary, accepted.Position);
        Assert.Equal(ProjectionWait.Reached, await waiting);
    }

    // The same on a real PostgreSQL streaming standby, set as Platform:Store:ReadReplica: the
    // registered waiter follows the standby's checkpoint and ReadModels reads the standby, so each
    // read right after the wait shows the command, however far replay lags at that moment.
    [SkippableFact]
    public async Task with_a_read_replica_set_the_wait_and_the_reads_go_to_the_standby_and_show_the_command()
    {
        Assert.False(string.IsNullOrEmpty(RealServices.PostgresReplica));
        await using var host = await RuntimeHost.StartAsync(Store.Postgres, Transport.InMemory,
            configure: cfg => cfg.Store.ReadReplica = RealServices.OnReplica(cfg.Store.ConnectionString));
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var consistency = host.Services.GetRequiredService<ProjectionConsistency>();
        var readModels = host.Services.GetRequiredService<ReadModels>();
        Assert.True(readModels.OnReplica);
        // The database was made and migrated a moment ago: wait until the standby has replayed that
        // (under load the database itself can be missing there for a moment).
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await using var connection = await readModels.OpenConnectionAsync();
                await using var tables = connection.CreateCommand();
                tables.CommandText = "SELECT count(*) FROM pg_tables WHERE tablename IN ('subscription_checkpoints', 'order_summary')";
                return (long)(await tables.ExecuteScalarAsync())! == 2;
            }
            catch (Npgsql.PostgresException missing) when (missing.SqlState == "3D000")
            {
                return false;
            }
        }, "the standby to have the database and its schema");
        await using (var connection = await readModels.OpenConnectionAsync())
        {
            await using var recovery = connection.CreateCommand();
            recovery.CommandText = "SELECT pg_is_in_recovery()";
            Assert.True((bool)(await recovery.ExecuteScalarAsync())!, "ReadModels must read the standby, not the primary");
        }

        for (var n = 0; n < 5; n++)
        {
            var id = Guid.NewGuid();
            await dispatcher.DispatchAsync(Orders.Place(id, n));
            var confirmed = await dispatcher.DispatchAsync(new ConfirmOrder(id));

            Assert.Equal(ProjectionWait.Reached, await consistency.WaitForAsync(Summary, confirmed, Long));
            await using var rows = await readModels.OpenAsync(Summary);
            Assert.Equal("Confirmed", (await rows.Set<OrderSummary>().SingleOrDefaultAsync(r => r.OrderId == id))?.Status);
        }
    }

    [SkippableFact]
    public async Task a_projection_parked_on_the_commands_event_answers_parked_at_once()
    {
        await using var host = await RuntimeHost.StartAsync(Store.Sqlite, Transport.InMemory, configure: cfg =>
        {
            cfg.Projections.MaxAttempts = 2;
            cfg.Projections.RetryDelay = TimeSpan.FromMilliseconds(20);
        });
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        var consistency = host.Services.GetRequiredService<ProjectionConsistency>();
        Assert.Equal(ProjectionWait.Reached, await consistency.WaitForAsync(Summary, await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 1)), Long));
        await Orders.ExecuteAsync(host.EventStore,
            "CREATE TRIGGER reject_poison BEFORE INSERT ON order_summary WHEN NEW.customer_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poison row'); END");

        var poison = await dispatcher.DispatchAsync(Orders.Place(Guid.NewGuid(), 2) with { CustomerId = "poison" });

        Assert.Equal(ProjectionWait.Parked, await consistency.WaitForAsync(Summary, poison, Long).WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
