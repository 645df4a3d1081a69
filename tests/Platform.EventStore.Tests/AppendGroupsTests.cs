using System.Collections.Concurrent;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Xunit;

namespace Platform.EventStore.Tests;

/// <summary>
/// <see cref="AppendGroups"/> on its own, with stand-ins for the statements: who runs what, in which
/// group, and which answer each caller gets. The store's behaviour with groups on PostgreSQL is in
/// <see cref="PostgresGroupedAppendTests"/>.
/// </summary>
public sealed class AppendGroupsTests
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    sealed class Statements
    {
        public readonly ConcurrentQueue<string[]> Runs = new();
        public readonly ConcurrentDictionary<string, TaskCompletionSource> Holds = new();
        public Func<IReadOnlyList<GroupedAppend>, Exception?> GroupFails = _ => null;
        public Func<GroupedAppend, Exception?> AloneFails = _ => null;
        int _running;
        public int MostAtOnce;

        public AppendGroups Groups(int slots, int maxAppends = 64, int maxEvents = 1_000) =>
            new(slots, maxAppends, maxEvents, AloneAsync, TogetherAsync, e => e is ConflictException);

        // Each append answers with its stream's number, so a caller can tell its answer from a neighbour's.
        static AppendOutcome Answer(GroupedAppend append) => new(long.Parse(append.StreamId[1..]), [1]);

        async Task<AppendOutcome> AloneAsync(GroupedAppend append, CancellationToken cancellationToken)
        {
            await EnterAsync([append]);
            try
            {
                return AloneFails(append) is { } error ? throw error : Answer(append);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        async Task<AppendOutcome[]> TogetherAsync(IReadOnlyList<GroupedAppend> group, CancellationToken cancellationToken)
        {
            await EnterAsync(group);
            try
            {
                return GroupFails(group) is { } error ? throw error : group.Select(Answer).ToArray();
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        async Task EnterAsync(IReadOnlyList<GroupedAppend> group)
        {
            var now = Interlocked.Increment(ref _running);
            InterlockedMax(ref MostAtOnce, now);
            Runs.Enqueue(group.Select(a => a.StreamId).ToArray());
            foreach (var append in group)
                if (Holds.TryGetValue(append.StreamId, out var hold))
                    await hold.Task;
            await Task.Yield();
        }

        static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }

    sealed class ConflictException() : Exception("unique violation");

    static GroupedAppend Append(string stream, int events = 1) =>
        new(stream, "test", ExpectedVersion.Any, Enumerable.Range(0, events)
            .Select(_ => new EncodedEvent(Guid.NewGuid(), "t", 1, "{}", null)).ToArray(), DateTimeOffset.UnixEpoch);

    static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    /// <summary>Holds the only slot with an append of s0 and queues the given appends behind it.</summary>
    static async Task<(Statements Statements, AppendGroups Groups, Task<AppendOutcome> First, TaskCompletionSource Hold)> SlotHeldAsync(int maxAppends = 64, int maxEvents = 1_000)
    {
        var statements = new Statements();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        statements.Holds["s0"] = hold;
        var groups = statements.Groups(slots: 1, maxAppends, maxEvents);
        var first = groups.AppendAsync(Append("s0"), CancellationToken.None);
        await WaitUntilAsync(() => !statements.Runs.IsEmpty);
        return (statements, groups, first, hold);
    }

    [Fact]
    public async Task a_lone_append_runs_at_once_on_its_own()
    {
        var statements = new Statements();
        var outcome = await statements.Groups(slots: 2).AppendAsync(Append("s7"), CancellationToken.None);

        Assert.Equal(7, outcome.VersionBefore);
        Assert.Equal(["s7"], Assert.Single(statements.Runs));
    }

    [Fact]
    public async Task appends_that_arrive_while_the_slots_are_taken_go_together_in_arrival_order_each_with_its_own_answer()
    {
        var (statements, groups, first, hold) = await SlotHeldAsync();
        var waiting = new List<Task<AppendOutcome>>();
        for (var i = 1; i <= 5; i++)
        {
            waiting.Add(groups.AppendAsync(Append("s" + i), CancellationToken.None));
            await Task.Delay(2); // arrival order
        }
        Assert.All(waiting, w => Assert.False(w.IsCompleted));

        hold.SetResult();
        var outcomes = await Task.WhenAll(waiting).WaitAsync(Patience);

        Assert.Equal(0, (await first).VersionBefore);
        Assert.Equal([1L, 2, 3, 4, 5], outcomes.Select(o => o.VersionBefore));
        Assert.Equal([["s0"], ["s1", "s2", "s3", "s4", "s5"]], statements.Runs);
    }

    [Fact]
    public async Task a_group_never_writes_one_stream_twice_and_keeps_to_its_limits()
    {
        var (statements, groups, _, hold) = await SlotHeldAsync(maxAppends: 3, maxEvents: 4);
        string[] streams = ["s1", "s2", "s1", "s3", "s4", "s5"];
        var waiting = new List<Task<AppendOutcome>>();
        foreach (var stream in streams)
        {
            waiting.Add(groups.AppendAsync(Append(stream, events: stream == "s4" ? 5 : 1), CancellationToken.None));
            await Task.Delay(2);
        }

        hold.SetResult();
        await Task.WhenAll(waiting).WaitAsync(Patience);

        // Three appends at most; the second s1 waits for the next group, which s4 does not fit (five
        // events of at most four), so s5 goes with s1; s4, larger than any group may be, goes alone.
        Assert.Equal([["s0"], ["s1", "s2", "s3"], ["s1", "s5"], ["s4"]], statements.Runs);
    }

    [Fact]
    public async Task a_conflict_in_a_group_runs_each_of_its_appends_alone_so_only_the_conflicting_one_fails()
    {
        var (statements, groups, _, hold) = await SlotHeldAsync();
        statements.GroupFails = group => group.Count > 1 ? new ConflictException() : null;
        statements.AloneFails = append => append.StreamId == "s2" ? new ConflictException() : null;
        var waiting = Enumerable.Range(1, 3).Select(i => groups.AppendAsync(Append("s" + i), CancellationToken.None)).ToArray();

        hold.SetResult();
        await Assert.ThrowsAsync<ConflictException>(() => waiting[1].WaitAsync(Patience));

        Assert.Equal(1, (await waiting[0]).VersionBefore);
        Assert.Equal(3, (await waiting[2]).VersionBefore);
        Assert.Equal([["s0"], ["s1", "s2", "s3"], ["s1"], ["s2"], ["s3"]], statements.Runs);
    }

    [Fact]
    public async Task any_other_failure_of_a_group_reaches_each_of_its_callers_and_the_next_append_runs()
    {
        var (statements, groups, _, hold) = await SlotHeldAsync();
        statements.GroupFails = group => group.Count > 1 ? new IOException("connection lost") : null;
        var waiting = Enumerable.Range(1, 3).Select(i => groups.AppendAsync(Append("s" + i), CancellationToken.None)).ToArray();

        hold.SetResult();
        foreach (var caller in waiting)
            Assert.Equal("connection lost", (await Assert.ThrowsAsync<IOException>(() => caller.WaitAsync(Patience))).Message);

        Assert.Equal(9, (await groups.AppendAsync(Append("s9"), CancellationToken.None).WaitAsync(Patience)).VersionBefore);
    }

    [Fact]
    public async Task an_append_cancelled_while_it_waits_is_never_written()
    {
        var (statements, groups, _, hold) = await SlotHeldAsync();
        using var cancel = new CancellationTokenSource();
        var cancelled = groups.AppendAsync(Append("s1"), cancel.Token);
        var kept = groups.AppendAsync(Append("s2"), CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Patience));
        hold.SetResult();

        Assert.Equal(2, (await kept.WaitAsync(Patience)).VersionBefore);
        Assert.DoesNotContain(statements.Runs, run => run.Contains("s1"));
    }

    // A caller that found a slot free owns its append: a slot passed on meanwhile goes to a caller
    // still waiting, not to it (it would never use the slot, and the group would lose it for good).
    [Fact]
    public async Task a_slot_passed_on_goes_to_a_waiting_caller_never_to_one_that_has_a_slot()
    {
        var statements = new Statements();
        var firstHold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        statements.Holds["s1"] = firstHold;
        var groups = statements.Groups(slots: 2);
        var first = groups.AppendAsync(Append("s1"), CancellationToken.None);
        await WaitUntilAsync(() => statements.Runs.Count == 1);

        // The second caller finds the other slot free and is held before it takes its first group.
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var goOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        groups.OnSlotFound = () =>
        {
            arrived.TrySetResult();
            return goOn.Task;
        };
        var second = groups.AppendAsync(Append("s2"), CancellationToken.None);
        await arrived.Task.WaitAsync(Patience);
        groups.OnSlotFound = null;
        var third = groups.AppendAsync(Append("s3"), CancellationToken.None);

        firstHold.SetResult();
        Assert.Equal(1, (await first.WaitAsync(Patience)).VersionBefore);
        Assert.Equal(3, (await third.WaitAsync(Patience)).VersionBefore);
        goOn.SetResult();
        Assert.Equal(2, (await second.WaitAsync(Patience)).VersionBefore);

        Assert.Equal(0, groups.Running);
        Assert.Equal([["s1"], ["s3"], ["s2"]], statements.Runs);
    }

    [Fact]
    public async Task many_callers_never_run_more_statements_at_once_than_there_are_slots_and_each_gets_its_answer()
    {
        var statements = new Statements();
        var groups = statements.Groups(slots: 3, maxAppends: 8);
        var outcomes = await Task.WhenAll(Enumerable.Range(1, 2_000).Select(i => Task.Run(async () =>
        {
            await Task.Yield();
            return (Stream: i, Outcome: await groups.AppendAsync(Append("s" + i), CancellationToken.None));
        }))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(outcomes, o => Assert.Equal(o.Stream, o.Outcome.VersionBefore));
        Assert.InRange(statements.MostAtOnce, 1, 3);
        var written = statements.Runs.SelectMany(run => run).ToList();
        Assert.Equal(2_000, written.Count);
        Assert.Equal(2_000, written.Distinct().Count());
        Assert.Contains(statements.Runs, run => run.Length > 1);

        // Every slot came back: three appends held in their statements run at once, each alone.
        var holds = new[] { "s9001", "s9002", "s9003" }.ToDictionary(s => s, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        foreach (var (stream, hold) in holds)
            statements.Holds[stream] = hold;
        var runs = statements.Runs.Count;
        var held = holds.Keys.Select(stream => Task.Run(() => groups.AppendAsync(Append(stream), CancellationToken.None))).ToArray();
        await WaitUntilAsync(() => statements.Runs.Count == runs + 3);
        foreach (var hold in holds.Values)
            hold.SetResult();
        await Task.WhenAll(held).WaitAsync(Patience);
        Assert.All(statements.Runs.Skip(runs), run => Assert.Single(run));
        Assert.Equal(0, groups.Running);
    }
}
