using Microsoft.Data.Sqlite;
using Platform.EventStore.Storage;
using Xunit;

namespace Platform.EventStore.Tests;

/// <summary>
/// <see cref="SqliteWriteGate"/>: one write turn per database file in the process, given in arrival
/// order, without a thread waiting for it; a wait that lasts too long fails as SQLite's lock does.
/// </summary>
public sealed class SqliteWriteGateTests
{
    static string NewDatabase() => $"Data Source={Path.Combine(Path.GetTempPath(), $"gate-{Guid.NewGuid():N}.db")}";

    [Fact]
    public async Task turns_go_in_arrival_order_and_a_cancelled_waiter_is_passed_over()
    {
        var gate = SqliteWriteGate.For(NewDatabase());
        var first = await gate.EnterAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        var order = new List<int>();
        using var cancel = new CancellationTokenSource();
        // EnterAsync queues its caller before it returns, so these five queue in this order.
        var waiters = new List<Task>();
        for (var n = 0; n < 5; n++)
            waiters.Add(TakeAsync(n, gate.EnterAsync(TimeSpan.FromSeconds(30), n == 2 ? cancel.Token : CancellationToken.None)));
        async Task TakeAsync(int n, ValueTask<IDisposable> entering)
        {
            using var turn = await entering;
            lock (order) order.Add(n);
        }
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiters[2]);

        first.Dispose();
        first.Dispose(); // a second dispose passes on nothing
        await Task.WhenAll(waiters.Where((_, i) => i != 2)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0, 1, 3, 4], order);
        // Free again: taken at once.
        (await gate.EnterAsync(TimeSpan.FromMilliseconds(1), CancellationToken.None)).Dispose();
    }

    [Fact]
    public async Task a_wait_longer_than_the_timeout_fails_as_a_locked_database_does()
    {
        var connectionString = NewDatabase();
        var gate = SqliteWriteGate.For(connectionString);
        using var held = await gate.EnterAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        var locked = await Assert.ThrowsAsync<SqliteException>(() => gate.EnterAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None).AsTask());

        Assert.Equal(5, locked.SqliteErrorCode);
        Assert.Contains(new SqliteConnectionStringBuilder(connectionString).DataSource, locked.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void one_gate_per_database_file_however_the_connection_string_names_it()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gate-{Guid.NewGuid():N}.db");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, file);
        Assert.Same(SqliteWriteGate.For($"Data Source={file}"), SqliteWriteGate.For($"Data Source={relative};Pooling=False"));
        Assert.NotSame(SqliteWriteGate.For($"Data Source={file}"), SqliteWriteGate.For(NewDatabase()));
    }
}
