using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A saga and a reaction over every field type the language has (value types, enums, lists, maps,
/// optional dates and timestamps) on the hosted runtime: what the saga sends is what its data and
/// the replies it kept say, it completes and compensates, and the reaction's filter and command
/// hold what the event says.
/// </summary>
public class SagaTorture
{
    const string Aggregate = """
        aggregate: Lease
        namespace: Shop.Leases
        id: { name: leaseId, type: guid }
        types:
          Slot: { code: string, hours: int, rate: decimal, note: string? }
          Grade: { enum: [Basic, Plus, Max] }
        state:
          owner: string
          status: { enum: [Open, Held, Closed] }
          lockId: guid?
          codes: list<string>
          self: guid?
        commands:
          OpenLease:
            creates: true
            fields: { owner: string, grade: Grade, slots: list<Slot>, rates: "map<string, decimal>", weight: double, units: long, starts: date?, deadline: timestamp? }
            emits: LeaseOpened
          CancelLease:
            when: { status: [Open, Held] }
            emits: LeaseCancelled
          HoldLease:
            fields: { lockId: guid, codes: list<string> }
            when: { status: [Open] }
            emits: LeaseHeld
        events:
          LeaseOpened:
            type: shop.leases.lease-opened
            fields: { owner: string, grade: Grade, slots: list<Slot>, rates: "map<string, decimal>", weight: double, units: long, starts: date?, deadline: timestamp? }
            apply: { owner: $owner, status: Open }
          LeaseCancelled:
            type: shop.leases.lease-cancelled
            apply: { status: Closed }
          LeaseHeld:
            type: shop.leases.lease-held
            fields: { lockId: guid, codes: list<string> }
            apply: { status: Held, lockId: $lockId, codes: $codes, self: $leaseId }
        """;

    const string Contracts = """
        contracts: Vault
        namespace: Shop.Vault
        commands:
          LockFunds:
            fields: { leaseId: guid, owner: string, grade: Grade, slots: list<Slot>, rates: "map<string, decimal>", weight: double, units: long, starts: date? }
          UnlockFunds:
            fields: { leaseId: guid, lockId: guid, codes: list<string>, grants: "map<string, int>" }
          Reserve:
            fields: { leaseId: guid, owner: string, codes: list<string>, grants: "map<string, int>", tier: Grade, deadline: timestamp?, lockedAt: timestamp?, day: date?, fee: decimal, priority: Grade }
          NoteHold:
            fields: { leaseId: guid, self: guid, lease: guid, version: long, eventId: guid, correlation: string, causation: string?, trace: string?, fee: decimal, grade: Grade, codes: list<string> }
        events:
          FundsLocked:
            type: shop.vault.funds-locked
            fields: { leaseId: guid, lockId: guid, codes: list<string>, grants: "map<string, int>", lockedAt: timestamp, level: Grade }
          FundsRefused:
            type: shop.vault.funds-refused
            fields: { leaseId: guid, reason: string }
          FundsUnlocked:
            type: shop.vault.funds-unlocked
            fields: { leaseId: guid, lockId: guid }
          Reserved:
            type: shop.vault.reserved
            fields: { leaseId: guid, ticket: long, spots: list<Slot> }
          ReserveFailed:
            type: shop.vault.reserve-failed
            fields: { leaseId: guid, reason: string }
        """;

    const string Saga = """
        saga: LeaseFlow
        namespace: Shop.Leases
        correlateBy: leaseId
        startedBy: LeaseOpened
        timeout: 1h
        data:
          leaseId: guid
          owner: string
          grade: Grade
          slots: list<Slot>
          rates: "map<string, decimal>"
          weight: double
          units: long
          starts: date?
          deadline: timestamp?
          lockId: guid?
          codes: list<string>
          grants: "map<string, int>"
          lockedAt: timestamp?
          ticket: long
          spots: list<Slot>
        steps:
          - name: Funds
            send: LockFunds
            onSuccess: FundsLocked
            onFailure: FundsRefused
            keep: { lockId: $lockId, codes: $codes, grants: $grants, lockedAt: $lockedAt }
            timeout: 1h
            compensate:
              send: UnlockFunds
              onSuccess: FundsUnlocked
              timeout: 1h
          - name: Reservation
            send: Reserve
            with: { tier: $grade, day: $deadline, fee: 1.5, priority: Max }
            onSuccess: Reserved
            onFailure: ReserveFailed
            keep: { ticket: $ticket, spots: $spots }
            timeout: 1h
            compensation: none
        on:
          LeaseCancelled:
            in: [AwaitingFunds, AwaitingReservation]
            then: compensate
        """;

    const string Reactions = """
        reactions:
          HoldWhenLocked:
            when: FundsLocked
            where: { level: [Plus, Max], codes: { nonEmpty: true } }
            send: HoldLease
            with: { leaseId: $leaseId, lockId: $lockId, codes: $codes }
          NoteWhenHeld:
            when: LeaseHeld
            where: { codes: { nonEmpty: true } }
            send: NoteHold
            with: { self: $leaseId, lease: $meta.aggregateId, version: $meta.version, eventId: $meta.eventId, correlation: $meta.correlationId, causation: $meta.causationId, trace: $meta.traceId, fee: 2.5, grade: Max }
        namespace: Shop.Leases
        """;

    const string Board = """
        projection: LeaseBoard
        namespace: Shop.Leases
        aggregate: Lease
        key: { name: leaseId, type: guid }
        fields: { owner: string, lease: guid, day: date?, held: bool }
        on:
          LeaseOpened: { action: insert, set: { owner: $owner, lease: $leaseId, day: $deadline } }
          LeaseHeld: { action: update, set: { held: true } }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("leases/lease.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("leases/vault.yaml", Contracts),
        new GeneratorHarness.InMemoryText("leases/lease-flow.yaml", Saga),
        new GeneratorHarness.InMemoryText("leases/reactions.yaml", Reactions),
        new GeneratorHarness.InMemoryText("leases/lease-board.yaml", Board));

    // The vault service and the run: host the runtime with the generated domain and the service,
    // open three leases, and report what the service received, where each saga ended and with
    // what data, and each lease's state after the reaction.
    const string Service = """
        using System.Collections.Concurrent;
        using System.Globalization;
        using MassTransit;
        using Microsoft.EntityFrameworkCore;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Logging;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Projections;
        using Platform.Runtime.Sagas;
        using Shop.Vault;
        using Platform.Torture;

        namespace Shop.Leases.Run;

        public sealed class Received
        {
            public ConcurrentQueue<string> Lines { get; } = new();

            public ConcurrentDictionary<Guid, (string Correlation, string? Causation)> Notes { get; } = new();
        }

        // ada: every step succeeds. bob: the reservation fails, so the funds are unlocked. cy: the
        // reservation never answers and the lease is cancelled meanwhile.
        public sealed class VaultService(Received received) : IConsumer<LockFunds>, IConsumer<UnlockFunds>, IConsumer<Reserve>, IConsumer<NoteHold>
        {
            static string Text(IEnumerable<Slot> slots) => string.Join(" ", slots.Select(s => $"{s.Code}/{s.Hours}/{s.Rate}/{s.Note ?? "-"}"));

            public Task Consume(ConsumeContext<LockFunds> context)
            {
                var m = context.Message;
                received.Lines.Enqueue($"{m.Owner} lock: {m.Grade} [{Text(m.Slots)}] {{{string.Join(" ", m.Rates.OrderBy(r => r.Key).Select(r => $"{r.Key}={r.Value}"))}}} {m.Weight.ToString(CultureInfo.InvariantCulture)} {m.Units} {m.Starts?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "-"}");
                var lockId = new Guid(m.LeaseId.ToByteArray().Reverse().ToArray());
                return context.Publish(new FundsLocked(m.LeaseId, lockId, ["c-" + m.Owner, "d"], new Dictionary<string, int> { ["x"] = 1, ["y"] = m.Owner.Length },
                    new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero), m.Grade));
            }

            // The reaction to LeaseHeld: the stream's id and version, the event's id and the ids of the flow.
            public Task Consume(ConsumeContext<NoteHold> context)
            {
                var m = context.Message;
                received.Lines.Enqueue($"note: {(m.Lease == m.LeaseId && m.Self == m.LeaseId && m.LeaseId != Guid.Empty ? "stream of the lease" : $"{m.Lease} {m.Self} {m.LeaseId}")} v{m.Version} {m.Fee} {m.Grade} [{string.Join(" ", m.Codes)}]");
                received.Notes[m.EventId] = (m.Correlation, m.Causation);
                return Task.CompletedTask;
            }

            public Task Consume(ConsumeContext<UnlockFunds> context)
            {
                var m = context.Message;
                received.Lines.Enqueue($"unlock: {(m.LockId == new Guid(m.LeaseId.ToByteArray().Reverse().ToArray()) ? "lock of the lease" : m.LockId.ToString())} [{string.Join(" ", m.Codes)}] {{{string.Join(" ", m.Grants.OrderBy(r => r.Key).Select(r => $"{r.Key}={r.Value}"))}}}");
                return context.Publish(new FundsUnlocked(m.LeaseId, m.LockId));
            }

            public Task Consume(ConsumeContext<Reserve> context)
            {
                var m = context.Message;
                received.Lines.Enqueue($"{m.Owner} reserve: {m.Tier} [{string.Join(" ", m.Codes)}] {{{string.Join(" ", m.Grants.OrderBy(r => r.Key).Select(r => $"{r.Key}={r.Value}"))}}} {m.Deadline?.ToString("O", CultureInfo.InvariantCulture) ?? "-"} {m.LockedAt?.ToString("O", CultureInfo.InvariantCulture) ?? "-"} {m.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "-"} {m.Fee} {m.Priority}");
                return m.Owner switch
                {
                    "ada" => context.Publish(new Reserved(m.LeaseId, 42L, [new Slot("s1", 3, 2.5m, null), new Slot("s2", 1, 0.1m, "late")])),
                    "bob" => context.Publish(new ReserveFailed(m.LeaseId, "full")),
                    _ => Task.CompletedTask,
                };
            }
        }

        // Errors the host logs, for the failure message of a run that does not end.
        public sealed class Errors : ILoggerProvider, ILogger
        {
            public ConcurrentQueue<string> Lines { get; } = new();
            public ILogger CreateLogger(string categoryName) => this;
            public void Dispose() { }
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel)) Lines.Enqueue(formatter(state, exception) + (exception is null ? "" : ": " + exception.Message));
            }
        }

        public static class LeaseRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid[] leases)
            {
                var received = new Received();
                var errors = new Errors();
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.BuildWithService<VaultService>(postgres, connectionString, typeof(LeasesDomain), "torture",
                    (sagas, vault) => sagas.Route<LockFunds>(vault).Route<UnlockFunds>(vault).Route<Reserve>(vault).Route<NoteHold>(vault),
                    services: collection => collection.AddSingleton(received), logging: logging => logging.AddProvider(errors)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    var sagas = Hosted.Sagas(services);
                    string[] owners = ["ada", "bob", "cy"];
                    Grade[] grades = [Grade.Plus, Grade.Max, Grade.Basic];
                    for (var i = 0; i < leases.Length; i++)
                    {
                        await commands.DispatchAsync(new OpenLease(leases[i], owners[i], grades[i],
                            [new Slot("a", 2, 1.5m, null), new Slot("b", i, 10m, "n" + i)], new Dictionary<string, decimal> { ["eur"] = 1.25m, ["krw"] = 1000m + i },
                            0.5 + i, 5_000_000_000L + i, i == 1 ? null : new DateOnly(2026, 1, 2 + i), i == 2 ? null : new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.FromHours(2))));
                    }
                    async Task<string> Until(Guid lease, params string[] states) =>
                        (await Hosted.SagaInAsync(sagas, lease, states,
                            () => $"saga {Array.IndexOf(leases, lease)}; received: {string.Join(" | ", received.Lines)}; errors: {string.Join(" | ", errors.Lines)}")).CurrentState;
                    var ends = new List<string>
                    {
                        "ada " + await Until(leases[0], "Completed", "Compensated", "CompensationFailed"),
                        "bob " + await Until(leases[1], "Completed", "Compensated", "CompensationFailed"),
                    };
                    await Until(leases[2], "AwaitingReservation");
                    await commands.DispatchAsync(new CancelLease(leases[2]));
                    ends.Add("cy " + await Until(leases[2], "Completed", "Compensated", "CompensationFailed"));
                    var data = (await sagas.GetAsync(leases[0])).Single().Instance.Data;
                    // The reaction holds the leases whose funds were locked at Plus or above with codes.
                    var store = services.GetRequiredService<IEventStore>();
                    async Task<string> Stream(int lease, int expected)
                    {
                        for (var wait = 0; ; wait++)
                        {
                            var events = new List<string>();
                            await foreach (var e in store.ReadStreamAsync(leases[lease].ToString("D")))
                                events.Add(e.Event is LeaseHeld held
                                    ? $"LeaseHeld({string.Join(" ", held.Codes)}; {(received.Notes.TryGetValue(e.EventId, out var ids) && ids == (e.CorrelationId, e.CausationId) ? "noted with its ids" : "not noted")})"
                                    : e.Event.GetType().Name);
                            if (events.Count >= expected || wait == 200)
                                return owners[lease] + ": " + string.Join(", ", events);
                            await Task.Delay(50);
                        }
                    }
                    var streams = new[] { await Stream(0, 2), await Stream(1, 2), await Stream(2, 2) };
                    // The aggregate's own apply and the projection read the lease id every Lease event carries as its stream id.
                    var aggregates = services.GetRequiredService<IAggregateStore>();
                    var states = new List<string>();
                    for (var i = 0; i < leases.Length; i++)
                    {
                        var state = (await aggregates.LoadAsync(new Lease(), leases[i].ToString("D"))).State;
                        states.Add($"{owners[i]}: {state.Status} self {(state.Self == leases[i] ? "the lease" : state.Self?.ToString() ?? "none")}");
                    }
                    await Hosted.CaughtUpAsync(services, await services.GetRequiredService<IEventStore>().GetHeadPositionAsync(), LeaseBoardProjection.ProjectionName);
                    await using var rows = await services.GetRequiredService<ReadModels>().OpenAsync(LeaseBoardProjection.ProjectionName);
                    var board = (await rows.Set<LeaseBoard>().ToListAsync())
                        .OrderBy(r => r.Owner, StringComparer.Ordinal)
                        .Select(r => $"{r.Owner}: row {(r.LeaseId == r.Lease && leases.Contains(r.Lease) ? "of the lease" : r.Lease.ToString())} day {r.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "-"} held {r.Held}");
                    return [.. received.Lines.Order(StringComparer.Ordinal), .. ends, .. streams, .. states, .. board, data];
                });
            }
        }
        """;

    [Fact]
    public void every_type_in_a_sagas_data_and_messages_compiles() =>
        GeneratorHarness.Compiles(Texts, GeneratorHarness.CreateCompilation("Shop.Leases"));

    // A step whose reply is an aggregate's event keeps the aggregate id it carries as its stream id.
    const string HoldFlow = """
        saga: HoldFlow
        namespace: Shop.Leases
        correlateBy: leaseId
        startedBy: FundsLocked
        timeout: 1h
        data: { leaseId: guid, lockId: guid, codes: list<string>, held: guid?, heldCodes: list<string> }
        steps:
          - name: Hold
            send: HoldLease
            onSuccess: LeaseHeld
            keep: { held: $leaseId, heldCodes: $codes }
            compensation: none
        """;

    [Fact]
    public void a_step_keeps_the_aggregate_id_of_an_aggregates_event_reply() =>
        GeneratorHarness.Compiles(Texts.Add(new GeneratorHarness.InMemoryText("leases/hold-flow.yaml", HoldFlow)), GeneratorHarness.CreateCompilation("Shop.Leases"));

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task the_saga_sends_what_its_data_and_kept_replies_say_and_the_reaction_filters_by_the_event(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagatorture");
        Guid[] leases = [Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()];

        var lines = await GuideExamples.RunAsync("Shop.Leases", Texts, Service, "Shop.Leases.Run.LeaseRun", store == Store.Postgres, database.ConnectionString, leases);

        // ada: every step succeeds; bob: the reservation fails and the funds are unlocked; cy: the
        // lease is cancelled while the reservation waits. The commands carry the saga's data (the
        // start event's by name, the replies' kept values, a timestamp as a date, literals as
        // decimals and enum members); the reaction holds Plus and Max leases only, and the reaction
        // to LeaseHeld reads its stream's id and version and the ids it was written with.
        Assert.Equal(
            [
                "ada lock: Plus [a/2/1.5/- b/0/10/n0] {eur=1.25 krw=1000} 0.5 5000000000 2026-01-02",
                "ada reserve: Plus [c-ada d] {x=1 y=3} 2026-06-01T12:00:00.0000000+02:00 2026-03-04T05:06:07.0000000+00:00 2026-06-01 1.5 Max",
                "bob lock: Max [a/2/1.5/- b/1/10/n1] {eur=1.25 krw=1001} 1.5 5000000001 -",
                "bob reserve: Max [c-bob d] {x=1 y=3} 2026-06-01T12:00:00.0000000+02:00 2026-03-04T05:06:07.0000000+00:00 2026-06-01 1.5 Max",
                "cy lock: Basic [a/2/1.5/- b/2/10/n2] {eur=1.25 krw=1002} 2.5 5000000002 2026-01-04",
                "cy reserve: Basic [c-cy d] {x=1 y=2} - 2026-03-04T05:06:07.0000000+00:00 - 1.5 Max",
                "note: stream of the lease v2 2.5 Max [c-ada d]",
                "note: stream of the lease v2 2.5 Max [c-bob d]",
                "unlock: lock of the lease [c-bob d] {x=1 y=3}",
                "unlock: lock of the lease [c-cy d] {x=1 y=2}",
                "ada Completed",
                "bob Compensated",
                "cy Compensated",
                "ada: LeaseOpened, LeaseHeld(c-ada d; noted with its ids)",
                "bob: LeaseOpened, LeaseHeld(c-bob d; noted with its ids)",
                "cy: LeaseOpened, LeaseCancelled",
                "ada: Held self the lease",
                "bob: Held self the lease",
                "cy: Closed self none",
                "ada: row of the lease day 2026-06-01 held True",
                "bob: row of the lease day 2026-06-01 held True",
                "cy: row of the lease day - held False",
            ],
            lines.SkipLast(1));
        // ada's saga data as stored: every type read back from the row.
        var lockId = new Guid(leases[0].ToByteArray().Reverse().ToArray());
        Assert.Equal(
            """
            {"correlationId":"{lease}","currentState":"Completed","version":3,"leaseId":"{lease}","owner":"ada","grade":1,"slots":[{"code":"a","hours":2,"rate":1.5,"note":null},{"code":"b","hours":0,"rate":10,"note":"n0"}],"rates":{"eur":1.25,"krw":1000},"weight":0.5,"units":5000000000,"starts":"2026-01-02","deadline":"2026-06-01T12:00:00+02:00","lockId":"{lock}","codes":["c-ada","d"],"grants":{"x":1,"y":3},"lockedAt":"2026-03-04T05:06:07+00:00","ticket":42,"spots":[{"code":"s1","hours":3,"rate":2.5,"note":null},{"code":"s2","hours":1,"rate":0.1,"note":"late"}],"failureReason":null,"fundsTimeoutTokenId":null,"fundsCompensation":null,"fundsCompensationTimeoutTokenId":null,"reservationTimeoutTokenId":null,"sagaTimeoutTokenId":null}
            """,
            lines[^1].Replace(leases[0].ToString("D"), "{lease}").Replace(lockId.ToString("D"), "{lock}"));
    }

    // A saga started by an event of an aggregate keyed by text, correlated by that key: the start
    // event carries it only as its stream id, the service's reply as a field.
    const string Tickets = """
        aggregate: Ticket
        namespace: Shop.Tickets
        id: { name: ticketNo, type: string }
        state: { title: string }
        commands:
          OpenTicket: { creates: true, fields: { title: string }, emits: TicketOpened }
        events:
          TicketOpened: { type: shop.tickets.opened, fields: { title: string }, apply: { title: $title } }
        """;

    const string Desk = """
        contracts: Desk
        namespace: Shop.Tickets
        commands:
          AssignAgent: { fields: { ticketNo: string, title: string } }
        events:
          AgentAssigned: { type: shop.tickets.agent-assigned, fields: { ticketNo: string, agent: string } }
          NoAgent: { type: shop.tickets.no-agent, fields: { ticketNo: string } }
        """;

    const string TicketFlow = """
        saga: TicketFlow
        namespace: Shop.Tickets
        correlateBy: ticketNo
        startedBy: TicketOpened
        timeout: 1h
        data: { ticketNo: string, title: string, agent: string? }
        steps:
          - name: Assign
            send: AssignAgent
            onSuccess: AgentAssigned
            onFailure: NoAgent
            keep: { agent: $agent }
            compensation: none
        """;

    const string TicketService = """
        using System.Collections.Concurrent;
        using MassTransit;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Sagas;
        using Platform.Torture;

        namespace Shop.Tickets.Run;

        public sealed class Desk(ConcurrentQueue<string> seen) : IConsumer<AssignAgent>
        {
            public Task Consume(ConsumeContext<AssignAgent> context)
            {
                seen.Enqueue($"assign {context.Message.TicketNo ?? "(none)"}: {context.Message.Title}");
                return context.Publish(new AgentAssigned(context.Message.TicketNo!, "zoe"));
            }
        }

        public static class TicketRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, string ticketNo)
            {
                var seen = new ConcurrentQueue<string>();
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.BuildWithService<Desk>(postgres, connectionString, typeof(TicketsDomain), "tickets",
                    (sagas, desk) => sagas.Route<AssignAgent>(desk), services: collection => collection.AddSingleton(seen)), async services =>
                {
                    await services.GetRequiredService<ICommandDispatcher>().DispatchAsync(new OpenTicket(ticketNo, "printer on fire"));
                    var sagas = Hosted.Sagas(services);
                    for (var wait = 0; wait < 400; wait++)
                    {
                        var row = (await sagas.ListAsync(includeResolved: true)).SingleOrDefault();
                        if (row?.CurrentState == "Completed")
                            return [.. seen, $"{row.CurrentState}: {row.Data}"];
                        await Task.Delay(50);
                    }
                    return [.. seen, "not completed: " + string.Join(" ", (await sagas.ListAsync(includeResolved: true)).Select(r => r.CurrentState + " " + r.Data))];
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public async Task a_saga_correlated_by_a_text_aggregate_id_starts_from_its_stream_and_takes_the_reply(Store store)
    {
        await using var database = await TestDatabase.CreateAsync(store, "tickets");
        ImmutableArray<AdditionalText> texts =
        [
            new GeneratorHarness.InMemoryText("tickets/ticket.yaml", Tickets),
            new GeneratorHarness.InMemoryText("tickets/desk.yaml", Desk),
            new GeneratorHarness.InMemoryText("tickets/ticket-flow.yaml", TicketFlow),
        ];
        var lines = await GuideExamples.RunAsync("Shop.Tickets", texts, TicketService, "Shop.Tickets.Run.TicketRun", store == Store.Postgres, database.ConnectionString, "T-42");

        // The saga's id is the key's guid (SHA-256 of its text), the one the reply's field maps to.
        var id = new Guid(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("T-42")).AsSpan(0, 16));
        Assert.Equal(
            [
                "assign T-42: printer on fire",
                $$"""Completed: {"correlationId":"{{id:D}}","currentState":"Completed","version":2,"ticketNo":"T-42","title":"printer on fire","agent":"zoe","failureReason":null,"sagaTimeoutTokenId":null}""",
            ],
            lines);
    }
}
