using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Timeouts at deadlines a saga's data holds (<c>timeout: $answerBy</c>, <c>timeout: $expiresAt</c>):
/// each offer waits until its own instant, one already passed times out at once, and an event that
/// moves the deadline (<c>keep: { answerBy: $answerBy }</c>) schedules the timeout again at the new
/// instant, earlier or later, so the old one neither fires nor stays behind.
/// </summary>
public class DeadlineTorture
{
    const string Contracts = """
        contracts: OfferServices
        namespace: Shop.Offers
        commands:
          AskBuyer: { fields: { offerId: guid, buyer: string } }
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
        timeout: $expiresAt
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

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("offers/services.yaml", Contracts),
        new GeneratorHarness.InMemoryText("offers/offer.yaml", Saga));

    const string Service = """
        using System.Text.Json;
        using MassTransit;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Torture;

        namespace Shop.Offers.Run;

        // The buyer is asked and never answers by itself: the run answers for it.
        public sealed class Buyers : IConsumer<AskBuyer>
        {
            public Task Consume(ConsumeContext<AskBuyer> context) => Task.CompletedTask;
        }

        public static class OfferRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid[] offers)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.BuildWithService<Buyers>(postgres, connectionString, typeof(OffersDomain), "offers",
                    (sagas, buyers) => sagas.Route<AskBuyer>(buyers)), async services =>
                {
                    var bus = services.GetRequiredService<IBus>();
                    var sagas = Hosted.Sagas(services);
                    var now = DateTimeOffset.UtcNow;
                    var soon = TimeSpan.FromSeconds(1.5);
                    var later = TimeSpan.FromHours(1);
                    var (soonest, passed, expiring, postponed, hastened) = (offers[0], offers[1], offers[2], offers[3], offers[4]);
                    await bus.Publish(new OfferMade(soonest, "ann", now + soon, now + later));
                    await bus.Publish(new OfferMade(passed, "bo", now - later, now + later));
                    await bus.Publish(new OfferMade(expiring, "cy", now + later, now + soon));
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
                    // timeouts (the step's, moved, and the saga's) an hour away, the first one gone.
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    var waiting = (await sagas.GetAsync(postponed)).Single();
                    var away = waiting.Waiting.Count(m => m.DueAt > DateTimeOffset.UtcNow.AddMinutes(30));
                    lines.Add($"postponed: {waiting.Instance.CurrentState}, {away} of {waiting.Waiting.Count} timeouts an hour away");
                    await bus.Publish(new Answered(postponed));
                    lines.Add($"postponed answered: {(await Hosted.SagaInAsync(sagas, postponed, ["Completed"])).CurrentState}");
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
                "postponed: AwaitingAnswer, 2 of 2 timeouts an hour away",
                "postponed answered: Completed",
            ],
            [Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray()]);
}
