using Microsoft.EntityFrameworkCore;
using Npgsql;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.Persistence;
using Platform.Testing;
using Xunit;

namespace Platform.EventStore.Tests;

public sealed class PostgresEventStoreTests(PostgresStoreFixture fixture) : EventStoreBehaviour, IClassFixture<PostgresStoreFixture>
{
    protected override IStoreFixture Fixture => fixture;

    protected override int LateCommitEventsPerWriter =>
        int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_LATE_COMMIT_EVENTS"), out var n) ? n : 20_000;

    // PostgreSQL caches a generic plan for a prepared statement (Npgsql prepares the claim), and the
    // one it picked for an earlier form of the guard on new, empty tables read the consumer's whole
    // inbox for every earlier event: consumers of a fresh database slowed down as their inbox grew,
    // until autovacuum analyzed the tables. The generic plan is made here on an empty,
    // never-analyzed store and must find the consumer's row for the stream by its primary key and
    // the events it lacks by the stream index, never by the type index or a scan.
    [SkippableFact]
    public async Task the_order_guard_plans_index_probes_even_on_a_new_empty_store()
    {
        var connectionString = await RealServices.CreatePostgresDatabaseAsync("guardplan");
        try
        {
            await using (var store = new Storage.SqlEventStore(new EventStoreOptions().UsePostgres(connectionString), Registries.Current()))
                await store.MigrateAsync();
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using (var generic = new NpgsqlCommand("SET plan_cache_mode = force_generic_plan", connection))
                await generic.ExecuteNonQueryAsync();

            // A named prepared statement, as Npgsql's auto-prepare makes it, with the generic plan forced.
            async Task<string> PlanAsync(string prepare, string execute)
            {
                await using (var command = new NpgsqlCommand(prepare, connection))
                    await command.ExecuteNonQueryAsync();
                await using var explain = new NpgsqlCommand("EXPLAIN " + execute, connection);
                var lines = new List<string>();
                await using var reader = await explain.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    lines.Add(reader.GetString(0));
                return string.Join("\n", lines);
            }

            var claim = await PlanAsync("PREPARE claim(text[], bigint[], text, text[], text, timestamptz) AS " + Storage.PostgresDialect.ClaimManySql,
                "EXECUTE claim(ARRAY['order-1'], ARRAY[3::bigint], 'consumer', ARRAY['OrderPlaced', 'OrderShipped'], 'inbox-start:consumer:', now())");
            Assert.Contains("Index Scan using ix_events_stream_id_stream_version on events", claim, StringComparison.Ordinal);
            Assert.Matches(@"Index (Only )?Scan using pk_consumer_streams on consumer_streams", claim);
            Assert.Contains("Index Cond: ((consumer = $3) AND (stream_id = r.stream_id))", claim, StringComparison.Ordinal);
            Assert.DoesNotContain("ix_events_type_name_timestamp", claim, StringComparison.Ordinal);
            Assert.DoesNotContain("Seq Scan", claim, StringComparison.Ordinal);

            // Left to choose (plan_cache_mode auto), PostgreSQL settles on the generic plan after
            // its five custom ones instead of planning the claim again for every execution.
            await using (var auto = new NpgsqlCommand("SET plan_cache_mode = auto", connection))
                await auto.ExecuteNonQueryAsync();
            await using (var prepare = new NpgsqlCommand("PREPARE chosen(text[], bigint[], text, text[], text, timestamptz) AS " + Storage.PostgresDialect.ClaimManySql, connection))
                await prepare.ExecuteNonQueryAsync();
            await using (var transaction = await connection.BeginTransactionAsync())
            {
                for (var i = 0; i < 10; i++)
                {
                    await using var execute = new NpgsqlCommand(
                        $"EXECUTE chosen(ARRAY['order-{i}', 'order-x{i}'], ARRAY[1, 2]::bigint[], 'consumer', ARRAY['OrderPlaced'], 'inbox-start:consumer:', now())",
                        connection, transaction);
                    await execute.ExecuteNonQueryAsync();
                }
                await transaction.RollbackAsync();
            }
            await using (var plans = new NpgsqlCommand("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'chosen'", connection))
            await using (var reader = await plans.ExecuteReaderAsync())
            {
                Assert.True(await reader.ReadAsync());
                Assert.Equal((5L, 5L), (reader.GetInt64(1), reader.GetInt64(0)));
            }
        }
        finally
        {
            await RealServices.DropPostgresDatabaseAsync(connectionString);
        }
    }

    [SkippableFact]
    public async Task a_reader_waits_at_a_position_held_by_an_open_transaction_then_sees_it_once_committed()
    {
        var start = await Store.GetHeadPositionAsync();
        await using var late = await Store.BeginTransactionAsync();
        var lateEvent = EventData.Create(new CounterIncremented(1));
        await late.AppendAsync(NewStream("late"), "counter", ExpectedVersion.NoStream, [lateEvent]);
        var early = EventData.Create(new CounterIncremented(2));
        await Store.AppendAsync(NewStream("early"), "counter", ExpectedVersion.NoStream, [early]);

        // The committed event sits behind the open transaction's position: the reader must not pass it.
        var read = Store.ReadAllAsync(start, 10);
        Assert.NotSame(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromMilliseconds(300))));
        await late.CommitAsync();
        var page = await read.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([lateEvent.EventId, early.EventId], page.Events.Select(e => e.EventId));
        Assert.Equal(page.Events[^1].GlobalPosition, page.NextPosition);
    }

    [SkippableFact]
    public async Task a_reader_passes_a_position_whose_transaction_rolled_back_without_stalling()
    {
        var start = await Store.GetHeadPositionAsync();
        var aborted = await Store.BeginTransactionAsync();
        await aborted.AppendAsync(NewStream("aborted"), "counter", ExpectedVersion.NoStream, [EventData.Create(new CounterIncremented(1))]);
        var committed = EventData.Create(new CounterIncremented(2));
        await Store.AppendAsync(NewStream("committed"), "counter", ExpectedVersion.NoStream, [committed]);

        var read = Store.ReadAllAsync(start, 10);
        Assert.NotSame(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromMilliseconds(300))));
        await aborted.RollbackAsync();
        await aborted.DisposeAsync();
        var page = await read.WaitAsync(TimeSpan.FromSeconds(30));

        var only = Assert.Single(page.Events);
        Assert.Equal(committed.EventId, only.EventId);
        Assert.True(only.GlobalPosition > start + 1, "the rolled-back transaction drew the position before it");
        Assert.True(page.ReachedEnd);
    }

    [SkippableFact]
    public async Task a_connection_killed_inside_an_append_transaction_stores_none_of_its_events()
    {
        var stream = NewStream("killed");
        await using var transaction = await Store.BeginTransactionAsync();
        await transaction.AppendAsync(stream, "cart", ExpectedVersion.NoStream, Items(200));
        var backend = ((NpgsqlConnection)transaction.Connection).ProcessID;

        await using (var admin = new NpgsqlConnection(fixture.ConnectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", admin);
            kill.Parameters.AddWithValue("pid", backend);
            Assert.True((bool)(await kill.ExecuteScalarAsync())!);
        }

        await Assert.ThrowsAnyAsync<Exception>(() => transaction.CommitAsync());
        Assert.Equal(0, await Store.GetStreamVersionAsync(stream));
        Assert.Empty(await Store.ReadStreamAsync(stream).ToListAsync());
    }

    [SkippableFact]
    public async Task a_connection_killed_during_a_large_append_leaves_all_of_it_or_none()
    {
        const int events = 20_000;
        // Under load the append can finish between two looks; each attempt is a stream of its own,
        // and the test fails only when no attempt's backend could be killed.
        for (var attempt = 1; ; attempt++)
        {
            var stream = NewStream("killed");
            var append = Store.AppendAsync(stream, "cart", ExpectedVersion.NoStream, Items(events));
            var killed = false;

            // Kill whichever backend is running the append while it runs: inside a statement, or
            // between two of its chunked INSERTs (idle in its transaction).
            await using (var admin = new NpgsqlConnection(fixture.ConnectionString))
            {
                await admin.OpenAsync();
                var database = new NpgsqlConnectionStringBuilder(fixture.ConnectionString).Database;
                await using var kill = new NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity " +
                    "WHERE datname = @db AND pid <> pg_backend_pid() AND query LIKE '%INSERT INTO events%' " +
                    "AND state IN ('active', 'idle in transaction')", admin);
                kill.Parameters.AddWithValue("db", database!);
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (!killed && !append.IsCompleted && DateTime.UtcNow < deadline)
                    killed = (long)(await kill.ExecuteScalarAsync())! > 0;
            }

            var outcome = await Record.ExceptionAsync(() => append);
            var version = await Store.GetStreamVersionAsync(stream);
            Assert.True(version is 0 or events, $"stream holds {version} of {events} events");
            // Killed after the commit but before the answer arrived, the append may fail yet be stored; never the reverse.
            if (outcome is null)
                Assert.Equal(events, version);
            if (killed)
                return;
            Assert.True(attempt < 5, "in five attempts the append finished before its backend could be killed");
        }
    }
}

public sealed class SqliteEventStoreTests(SqliteStoreFixture fixture) : EventStoreBehaviour, IClassFixture<SqliteStoreFixture>
{
    protected override IStoreFixture Fixture => fixture;

    // SQLite holds its single write lock through each writer's delay, so writers run one at a time.
    protected override int LateCommitEventsPerWriter =>
        int.TryParse(Environment.GetEnvironmentVariable("PLATFORM_LATE_COMMIT_EVENTS_SQLITE"), out var n) ? n : 2_500;

    // A saga step or a reaction holds its transaction across awaits. Writers of the same process
    // that waited for the lock in SQLite's busy handler each blocked a thread-pool thread, and the
    // holder's continuation queued behind them: it ran only as the pool added threads, one every
    // half second or so, or as the waiters' busy timeouts ended (the Orders demo stood still for 30
    // and 60 s under a loaded CI). They now wait for SqliteWriteGate, holding no thread.
    [Fact]
    public async Task a_transaction_that_awaits_ends_at_once_while_many_writers_of_the_process_wait()
    {
        const int writers = 64;
        // On the thread pool, as a consumer runs (xunit's own synchronization context would
        // resume the holder on a thread of its own).
        var (held, waiting) = await Task.Run(async () =>
        {
            await using var transaction = await Store.BeginTransactionAsync();
            await transaction.AppendAsync(NewStream("holder"), "cart", ExpectedVersion.NoStream, Items(1));
            var started = 0;
            var waiting = Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
            {
                Interlocked.Increment(ref started);
                await Store.AppendAsync(NewStream("waiter"), "cart", ExpectedVersion.NoStream, Items(1));
            })).ToArray();
            while (Volatile.Read(ref started) < 2)
                await Task.Delay(10);

            // The holder awaits a signal that a writer gives just before it writes (as a consumer
            // awaits MassTransit's pipe): its continuation is queued on that writer's thread.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var signalling = Task.Run(async () =>
            {
                signal.SetResult();
                await Store.AppendAsync(NewStream("signaller"), "cart", ExpectedVersion.NoStream, Items(1));
            });
            await signal.Task;
            await transaction.CommitAsync();
            return (clock.Elapsed, waiting.Append(signalling).ToArray());
        });
        await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.True(held < TimeSpan.FromSeconds(10), $"the holder's 20 ms await took {held.TotalSeconds:N1} s with {writers} writers waiting");
    }

    // Microsoft.Data.Sqlite waits 150 ms after meeting a locked database however soon it is free;
    // SQLite's own busy handler, which busy_timeout turns on, waits a few milliseconds (a writer
    // behind a 20 ms transaction: 150-155 ms without it, 21-35 ms with it). Every connection of the
    // store has it: its own and EF Core's.
    [Fact]
    public async Task every_connection_of_the_store_waits_for_the_write_lock_with_sqlites_busy_handler()
    {
        static async Task<long> BusyTimeoutAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction)
        {
            await using var query = connection.CreateCommand();
            query.Transaction = transaction;
            query.CommandText = "PRAGMA busy_timeout";
            return (long)(await query.ExecuteScalarAsync())!;
        }

        await using (var transaction = await Store.BeginTransactionAsync())
            Assert.Equal(60_000, await BusyTimeoutAsync(transaction.Connection, transaction.Transaction));
        await using var context = Store.CreateDbContext();
        await context.Database.OpenConnectionAsync();
        Assert.Equal(60_000, await BusyTimeoutAsync(context.Database.GetDbConnection(), null));
    }
}
