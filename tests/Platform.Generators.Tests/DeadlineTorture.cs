using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Timeouts at deadlines a saga's data holds (<c>timeout: $answerBy</c>, <c>timeout: $expiresAt</c>):
/// each offer waits until its own instant, one already passed times out at once, and an event that
/// moves the deadline (<c>keep: { answerBy: $answerBy }</c>) schedules the timeout again at the new
/// instant, earlier or later, so the old one neither fires nor stays behind. Reactions send at an
/// instant their event holds (<c>at: $answerBy</c>), cancelled by <c>unless:</c> as after a delay.
/// </summary>
public class DeadlineTorture
{
    const string Contracts = """
        contracts: OfferServices
        namespace: Shop.Offers
        commands:
          AskBuyer: { fields: { offerId: guid, buyer: string } }
          RemindBuyer: { fields: { offerId: guid, buyer: string } }
          WarnBuyer: { fields: { offerId: guid, buyer: string } }
        events:
          OfferMade: { type: shop.offers.made, fields: { offerId: guid, buyer: string, answerBy: timestamp, expiresAt: timestamp } }
          AnswerMoved: { type: shop.offers.answer-moved, fields: { offerId: guid, answerBy: timestamp } }
          Answered: { type: shop.offers.answered, fields: { offerId: guid } }
        """;

    const string Saga = """
        saga: Offer
        namespace: Shop.Offers
        correlateBy: offerId
        startedBy: OfferMade
        timeout: $expiresAt - 50m
        data: { offerId: guid, buyer: string, answerBy: timestamp, expiresAt: timestamp }
        steps:
          - name: Answer
            send: AskBuyer
            onSuccess: Answered
            timeout: $answerBy
            compensation: none
        on:
          AnswerMoved:
            keep: { answerBy: $answerBy }
            then: ignore
        """;

    // A hold on the offered goods, kept until the instant it was placed for.
    const string Hold = """
        aggregate: Hold
        namespace: Shop.Offers
        id: { name: holdId, type: guid }
        state: { status: { enum: [Held, Released, Expired] } }
        commands:
          PlaceHold: { creates: true, fields: { until: timestamp }, emits: HoldPlaced }
          ReleaseHold: { when: { status: Held }, emits: HoldReleased }
          ExpireHold: { emits: HoldExpired }
        events:
          HoldPlaced: { type: shop.offers.hold-placed, fields: { until: timestamp }, apply: { status: Held } }
          HoldReleased: { type: shop.offers.hold-released, apply: { status: Released } }
          HoldExpired: { type: shop.offers.hold-expired, apply: { status: Expired } }
        """;

    // At an instant the event holds: a reminder when the answer is due (sent at once when that has
    // passed), and a hold's expiry, cancelled by its release.
    const string Reactions = """
        namespace: Shop.Offers
        reactions:
          RemindWhenAnswerDue:
            when: OfferMade
            at: $answerBy
            send: RemindBuyer
          WarnAfterAnswerDue:
            when: OfferMade
            at: $answerBy + 1s
            send: WarnBuyer
          ExpireHoldWhenDue:
            when: HoldPlaced
            at: $until
            send: ExpireHold
            unless: HoldReleased
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("offers/services.yaml", Contracts),
        new GeneratorHarness.InMemoryText("offers/offer.yaml", Saga),
        new GeneratorHarness.InMemoryText("offers/hold.yaml", Hold),
        new GeneratorHarness.InMemoryText("offers/reactions.yaml", Reactions));

    const string Service = """
        using System.Collections.Concurrent;
        using System.Text.Json;
        using MassTransit;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Events;
        using Platform.Runtime.Commands;
        using Platform.Torture;

        namespace Shop.Offers.Run;

        // The buyer is asked and never answers by itself: the run answers for it. Reminders are noted
        // with the time they arrived.
        public sealed class Buyers(Notes notes) : IConsumer<AskBuyer>, IConsumer<RemindBuyer>, IConsumer<WarnBuyer>
        {
            public Task Consume(ConsumeContext<AskBuyer> context) => Task.CompletedTask;

            public Task Consume(ConsumeContext<RemindBuyer> context)
            {
                notes.Reminded.TryAdd(context.Message.OfferId, DateTimeOffset.UtcNow);
                return Task.CompletedTask;
            }

            public Task Consume(ConsumeContext<WarnBuyer> context)
            {
                notes.Warned.TryAdd(context.Message.OfferId, DateTimeOffset.UtcNow);
                return Task.CompletedTask;
            }
        }

        public sealed class Notes
        {
            public ConcurrentDictionary<Guid, DateTimeOffset> Reminded { get; } = new();
            public ConcurrentDictionary<Guid, DateTimeOffset> Warned { get; } = new();
        }

        public static class OfferRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid[] offers)
            {
                var notes = new Notes();
                var reminded = notes.Reminded;
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.BuildWithService<Buyers>(postgres, connectionString, typeof(OffersDomain), "offers",
                    (sagas, buyers) => sagas.Route<AskBuyer>(buyers).Route<RemindBuyer>(buyers).Route<WarnBuyer>(buyers), services: collection => collection.AddSingleton(notes)), async services =>
                {
                    var bus = services.GetRequiredService<IBus>();
                    var sagas = Hosted.Sagas(services);
                    var now = DateTimeOffset.UtcNow;
                    var soon = TimeSpan.FromSeconds(1.5);
                    var later = TimeSpan.FromHours(1);
                    var (soonest, passed, expiring, postponed, hastened) = (offers[0], offers[1], offers[2], offers[3], offers[4]);
                    await bus.Publish(new OfferMade(soonest, "ann", now + soon, now + later));
                    await bus.Publish(new OfferMade(passed, "bo", now - later, now + later));
                    // The whole offer times out 50 minutes before it expires (the others' an hour from now, 10
                    // minutes after it): this one when the others' answers are due.
                    await bus.Publish(new OfferMade(expiring, "cy", now + later, now + soon + TimeSpan.FromMinutes(50)));
                    await bus.Publish(new OfferMade(postponed, "di", now + soon, now + later));
                    await bus.Publish(new OfferMade(hastened, "ed", now + later, now + later));
                    foreach (var id in new[] { postponed, hastened })
                        await Hosted.SagaInAsync(sagas, id, ["AwaitingAnswer"]);
                    await bus.Publish(new AnswerMoved(postponed, now + later));
                    await bus.Publish(new AnswerMoved(hastened, DateTimeOffset.UtcNow + soon));
                    var lines = new List<string>();
                    foreach (var (name, id) in new[] { ("soonest", soonest), ("passed", passed), ("expiring", expiring), ("hastened", hastened) })
                    {
                        var row = await Hosted.SagaInAsync(sagas, id, ["Compensated"]);
                        var reason = JsonDocument.Parse(row.Data).RootElement.GetProperty("failureReason").GetString();
                        // Not before its deadline (the one already passed has none to wait for).
                        lines.Add($"{name}: {row.CurrentState}, {reason}" + (id == passed ? "" : $", early {row.UpdatedAt < now + soon}"));
                    }
                    // Its first deadline passed with the others' and a second more: still waiting, its two
                    // timeouts (the step's, moved an hour on, and the saga's, 10 minutes on) far away, the
                    // first one gone.
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    var waiting = (await sagas.GetAsync(postponed)).Single();
                    var away = waiting.Waiting.Count(m => m.DueAt > DateTimeOffset.UtcNow.AddMinutes(5));
                    lines.Add($"postponed: {waiting.Instance.CurrentState}, {away} of {waiting.Waiting.Count} timeouts more than 5 minutes away");
                    await bus.Publish(new Answered(postponed));
                    lines.Add($"postponed answered: {(await Hosted.SagaInAsync(sagas, postponed, ["Completed"])).CurrentState}");

                    // Reminders at each offer's first answerBy: the passed one's at once, none an hour away.
                    var names = new Dictionary<Guid, string> { [soonest] = "soonest", [passed] = "passed", [expiring] = "expiring", [postponed] = "postponed", [hastened] = "hastened" };
                    lines.Add($"reminded: {string.Join(", ", reminded.Keys.Select(id => names[id]).Order(StringComparer.Ordinal))}");
                    lines.Add($"reminded early: {string.Join(", ", reminded.Where(r => r.Key != passed && r.Value < now + soon).Select(r => names[r.Key]))}");
                    // And warned a second after it (at: $answerBy + 1s); the reminders came first.
                    for (var wait = 0; wait < 100 && notes.Warned.Count < 3; wait++)
                        await Task.Delay(100);
                    lines.Add($"warned: {string.Join(", ", notes.Warned.Keys.Select(id => names[id]).Order(StringComparer.Ordinal))}");
                    lines.Add($"warned early: {string.Join(", ", notes.Warned.Where(w => w.Key != passed && w.Value < now + soon + TimeSpan.FromSeconds(1)).Select(w => names[w.Key]))}");

                    // Holds until an instant: one kept expires then, not before; one released first does not.
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    Task<List<EventEnvelope>> Stream(Guid id) => Hosted.StreamAsync(services, id);
                    var (kept, released) = (Guid.NewGuid(), Guid.NewGuid());
                    var until = DateTimeOffset.UtcNow.AddSeconds(1.5);
                    await commands.DispatchAsync(new PlaceHold(kept, until));
                    await commands.DispatchAsync(new PlaceHold(released, until));
                    await commands.DispatchAsync(new ReleaseHold(released));
                    for (var wait = 0; wait < 300 && (await Stream(kept)).Count < 2; wait++)
                        await Task.Delay(100);
                    await Task.Delay(TimeSpan.FromSeconds(1)); // the released one's was due with it: time to change nothing
                    var expired = await Stream(kept);
                    lines.Add($"kept: {string.Join(", ", expired.Select(e => e.Event.GetType().Name))}, expired early {expired[^1].Timestamp < until}");
                    lines.Add($"released: {string.Join(", ", (await Stream(released)).Select(e => e.Event.GetType().Name))}");
                    return lines;
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task each_saga_times_out_at_the_deadline_its_data_holds_and_a_moved_deadline_moves_its_timeout(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Offers", Texts, Service, "Shop.Offers.Run.OfferRun",
            [
                "soonest: Compensated, Answer timed out, early False",
                "passed: Compensated, Answer timed out",
                "expiring: Compensated, Offer timed out, early False",
                "hastened: Compensated, Answer timed out, early False",
                "postponed: AwaitingAnswer, 2 of 2 timeouts more than 5 minutes away",
                "postponed answered: Completed",
                "reminded: passed, postponed, soonest",
                "reminded early: ",
                "warned: passed, postponed, soonest",
                "warned early: ",
                "kept: HoldPlaced, HoldExpired, expired early False",
                "released: HoldPlaced, HoldReleased",
            ],
            [Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray()]);
}
