using Platform.Persistence;

namespace Platform.EventStore.Storage;

/// <summary>One append waiting in <see cref="AppendGroups"/>, and what became of it.</summary>
sealed class GroupedAppend(string streamId, string streamType, ExpectedVersion expected, EncodedEvent[] events, DateTimeOffset timestamp)
{
    public string StreamId { get; } = streamId;
    public string StreamType { get; } = streamType;
    public ExpectedVersion Expected { get; } = expected;
    public EncodedEvent[] Events { get; } = events;
    public DateTimeOffset Timestamp { get; } = timestamp;

    // Wakes the waiting caller. True: it was handed a slot and runs the next group itself (its
    // append is then left to it alone). False: another caller ran its append (Done).
    internal readonly TaskCompletionSource<bool> Turn = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // HoldsSlot: its caller has a slot, found free on arrival or handed on; no other group takes it
    // and no slot is handed to it.
    internal bool HoldsSlot, Taken;
    internal volatile bool Done;
    internal AppendOutcome Outcome;
    internal Exception? Error;

    internal void Finish(AppendOutcome outcome) => Outcome = outcome;

    internal void Fail(Exception error) => Error = error;

    /// <summary>Tells the caller (after <see cref="Finish"/> or <see cref="Fail"/>).</summary>
    internal void Release()
    {
        Done = true;
        Turn.TrySetResult(false);
    }
}

/// <summary>
/// Group commit for appends that run in a transaction of their own (a command handler's save, a
/// plain <c>AppendAsync</c>). Appends that arrive while <c>slots</c> statements already run wait;
/// the next statement writes all of them (different streams, each with its own expected version),
/// in one round trip and one commit. A lone append runs at once, as before. PostgreSQL spends less
/// per event on one statement of eight rows than on eight statements of one (pgbench on the store's
/// table here: 43,000-48,000 against 20,000-23,000 rows/s).
/// </summary>
/// <remarks>
/// No thread of its own: the callers run the statements. The one that finds a slot free runs the
/// waiting appends, its own among them, and passes its slot to the oldest still waiting when it
/// leaves, which then runs the next group. An append of a stream already in the group waits for the
/// next one, so a group never writes one stream twice. When the database refuses the group's
/// statement (a unique index: another writer took a version, or an event id is stored already; or an
/// event it cannot take), each of its appends runs again alone and gets its own answer, so one
/// append never fails its neighbours. Any other failure (the connection) reaches every caller of the
/// group, as it would have reached each alone. An append is cancelled only while it waits; once in a
/// group it runs to the end, like a statement already sent.
/// </remarks>
sealed class AppendGroups(
    int slots,
    int maxAppends,
    int maxEvents,
    Func<GroupedAppend, CancellationToken, Task<AppendOutcome>> appendAlone,
    Func<IReadOnlyList<GroupedAppend>, CancellationToken, Task<AppendOutcome[]>> appendTogether,
    Func<Exception, bool> refusedByDatabase)
{
    readonly Lock _lock = new();
    readonly LinkedList<GroupedAppend> _waiting = new();
    int _running;

    /// <summary>Slots held now.</summary>
    internal int Running
    {
        get
        {
            lock (_lock)
                return _running;
        }
    }

    /// <summary>Tests: runs when a caller found a slot free, before it takes its first group.</summary>
    internal Func<Task>? OnSlotFound { get; set; }

    public async Task<AppendOutcome> AppendAsync(GroupedAppend append, CancellationToken cancellationToken)
    {
        LinkedListNode<GroupedAppend> node;
        bool lead;
        lock (_lock)
        {
            node = _waiting.AddLast(append);
            lead = _running < slots;
            if (lead)
            {
                _running++;
                append.HoldsSlot = true;
            }
        }
        if (!lead && !await WaitForTurnAsync(node, cancellationToken).ConfigureAwait(false))
            return Result(append);
        if (lead && OnSlotFound is { } onSlotFound)
            await onSlotFound().ConfigureAwait(false);

        // This caller holds a slot: it runs groups until its own append is done, then passes the slot
        // on before it tells the callers of its last group, so that their next appends find the slot
        // free instead of queueing behind a runner that is about to leave.
        var passed = false;
        try
        {
            while (!append.Done)
            {
                // Never empty: its own append waits until this caller takes it.
                var group = Take(append);
                await RunAsync(group).ConfigureAwait(false);
                if (group.Contains(append))
                {
                    PassSlot();
                    passed = true;
                }
                foreach (var done in group)
                    done.Release();
            }
        }
        finally
        {
            if (!passed)
                PassSlot();
        }
        return Result(append);
    }

    static AppendOutcome Result(GroupedAppend append) =>
        append.Error is { } error ? throw Rethrown(error) : append.Outcome;

    // Each caller gets the exception of its own append; the original keeps its stack for the log.
    static Exception Rethrown(Exception error)
    {
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        return error;
    }

    async Task<bool> WaitForTurnAsync(LinkedListNode<GroupedAppend> node, CancellationToken cancellationToken)
    {
        var append = node.Value;
        if (!cancellationToken.CanBeCanceled)
            return await append.Turn.Task.ConfigureAwait(false);
        await using (cancellationToken.Register(() =>
                     {
                         lock (_lock)
                         {
                             // Only while it waits: taken into a group, it runs; handed a slot, it must use it.
                             if (append.Taken || append.HoldsSlot)
                                 return;
                             _waiting.Remove(node);
                         }
                         append.Turn.TrySetCanceled(cancellationToken);
                     }).ConfigureAwait(false))
        {
            return await append.Turn.Task.ConfigureAwait(false);
        }
    }

    // The oldest waiting appends that fit one statement. Appends whose callers hold a slot are theirs
    // to run, so a group takes none of them but the runner's own.
    List<GroupedAppend> Take(GroupedAppend own)
    {
        var group = new List<GroupedAppend>();
        var streams = new HashSet<string>(StringComparer.Ordinal);
        var events = 0;
        lock (_lock)
        {
            for (var node = _waiting.First; node is not null && group.Count < maxAppends;)
            {
                var next = node.Next;
                var append = node.Value;
                // The first always goes (an append larger than maxEvents runs alone); the others while they fit.
                var fits = group.Count == 0 || (events + append.Events.Length <= maxEvents && !streams.Contains(append.StreamId));
                if (fits && (!append.HoldsSlot || append == own))
                {
                    _waiting.Remove(node);
                    append.Taken = true;
                    group.Add(append);
                    streams.Add(append.StreamId);
                    events += append.Events.Length;
                }
                node = next;
            }
        }
        return group;
    }

    void PassSlot()
    {
        GroupedAppend? next = null;
        lock (_lock)
        {
            for (var node = _waiting.First; node is not null; node = node.Next)
            {
                if (!node.Value.HoldsSlot)
                {
                    next = node.Value;
                    next.HoldsSlot = true;
                    break;
                }
            }
            if (next is null)
                _running--;
        }
        next?.Turn.TrySetResult(true);
    }

    async Task RunAsync(List<GroupedAppend> group)
    {
        // CancellationToken.None: the group is other callers' work too, and a statement cut short
        // could commit on the server while its callers hear that it failed.
        StoreTelemetry.AppendGroups.Record(group.Count);
        if (group.Count == 1)
        {
            await RunAloneAsync(group[0]).ConfigureAwait(false);
            return;
        }
        AppendOutcome[] outcomes;
        try
        {
            outcomes = await appendTogether(group, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception) when (refusedByDatabase(exception))
        {
            // The database refused the statement, so nothing of the group was written: each append
            // again, alone, for its own answer (a conflict or bad data fails only its own append).
            foreach (var append in group)
                await RunAloneAsync(append).ConfigureAwait(false);
            return;
        }
        catch (Exception exception)
        {
            foreach (var append in group)
                append.Fail(exception);
            return;
        }
        for (var i = 0; i < group.Count; i++)
            group[i].Finish(outcomes[i]);
    }

    async Task RunAloneAsync(GroupedAppend append)
    {
        try
        {
            append.Finish(await appendAlone(append, CancellationToken.None).ConfigureAwait(false));
        }
        catch (Exception exception)
        {
            append.Fail(exception);
        }
    }
}
