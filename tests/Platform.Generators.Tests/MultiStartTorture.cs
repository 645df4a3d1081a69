using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A saga with two start events (<c>startedBy: [OrderPlaced, OrderImported]</c>): whichever arrives
/// first starts it with that event's data, and the other, arriving later for the same order, is
/// expected and changes nothing, though the saga dead-letters what it does not expect
/// (<c>onUnexpected: deadLetter</c>). The confirmations show which event started each saga.
/// </summary>
public class MultiStartTorture
{
    const string Contracts = """
        contracts: IntakeServices
        namespace: Shop.Intake
        commands:
          Confirm: { fields: { orderId: guid, buyer: string, source: string? } }
        events:
          OrderPlaced: { type: shop.intake.placed, fields: { orderId: guid, buyer: string } }
          OrderImported: { type: shop.intake.imported, fields: { orderId: guid, buyer: string, source: string } }
          Confirmed: { type: shop.intake.confirmed, fields: { orderId: guid } }
        """;

    const string Saga = """
        saga: Intake
        namespace: Shop.Intake
        correlateBy: orderId
        startedBy: [OrderPlaced, OrderImported]
        timeout: 1h
        onUnexpected: deadLetter
        data: { orderId: guid, buyer: string, source: string? }
        steps:
          - name: Confirmation
            send: Confirm
            onSuccess: Confirmed
            timeout: 1h
            compensation: none
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("intake/services.yaml", Contracts),
        new GeneratorHarness.InMemoryText("intake/intake.yaml", Saga));

    const string Service = """
        using System.Collections.Concurrent;
        using System.Text.Json;
        using MassTransit;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.DeadLetters;
        using Platform.Runtime.Sagas;
        using Platform.Torture;

        namespace Shop.Intake.Run;

        public sealed class Desk(ConcurrentQueue<string> seen) : IConsumer<Confirm>
        {
            public Task Consume(ConsumeContext<Confirm> context)
            {
                seen.Enqueue($"confirm {context.Message.Buyer} from {context.Message.Source ?? "the shop"}");
                return context.Publish(new Confirmed(context.Message.OrderId));
            }
        }

        public static class IntakeRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid placed, Guid imported)
            {
                var seen = new ConcurrentQueue<string>();
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.BuildWithService<Desk>(postgres, connectionString, typeof(IntakeDomain), "intake",
                    (sagas, desk) => sagas.Route<Confirm>(desk), services: collection => collection.AddSingleton(seen)), async services =>
                {
                    var bus = services.GetRequiredService<IBus>();
                    var sagas = Hosted.Sagas(services);
                    var options = services.GetRequiredService<PlatformOptions>();
                    await bus.Publish(new OrderPlaced(placed, "ann"));
                    await bus.Publish(new OrderImported(imported, "bo", "csv"));
                    var lines = new List<string>();
                    foreach (var (name, id) in new[] { ("placed", placed), ("imported", imported) })
                    {
                        var row = await Hosted.SagaInAsync(sagas, id, ["Completed"], () => string.Join(" | ", seen));
                        lines.Add($"{name}: {row.CurrentState}, source {JsonDocument.Parse(row.Data).RootElement.GetProperty("source").GetString() ?? "none"}");
                    }
                    // The other start event of each, later: ignored, not dead-lettered, nothing sent again.
                    // Until the saga recorded both in its inbox, or dead-lettered one (after its retries).
                    var letters = new DeadLetterStore(options.Store.Provider, options.Store.ConnectionString);
                    Task<long> Inbox() => Hosted.CountAsync(postgres, connectionString, "SELECT count(*) FROM processed_messages WHERE consumer = 'saga:Intake'");
                    var before = await Inbox();
                    await bus.Publish(new OrderImported(placed, "ann", "late"));
                    await bus.Publish(new OrderPlaced(imported, "bo"));
                    for (var wait = 0; wait < 300 && await Inbox() < before + 2 && (await letters.ListAsync()).Count == 0; wait++)
                        await Task.Delay(100);
                    lines.Add($"taken in: {await Inbox() - before}");
                    foreach (var (name, id) in new[] { ("placed", placed), ("imported", imported) })
                    {
                        var saga = (await sagas.GetAsync(id)).Single();
                        lines.Add($"{name} after the other: {saga.Instance.CurrentState}, source {JsonDocument.Parse(saga.Instance.Data).RootElement.GetProperty("source").GetString() ?? "none"}");
                    }
                    lines.Add($"dead letters: {(await letters.ListAsync()).Count}");
                    return [.. seen.Order(StringComparer.Ordinal), .. lines];
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task whichever_start_event_comes_first_starts_the_saga_and_the_other_changes_nothing(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Intake", Texts, Service, "Shop.Intake.Run.IntakeRun",
            [
                "confirm ann from the shop",
                "confirm bo from csv",
                "placed: Completed, source none",
                "imported: Completed, source csv",
                "taken in: 2",
                "placed after the other: Completed, source none",
                "imported after the other: Completed, source csv",
                "dead letters: 0",
            ],
            Guid.NewGuid(), Guid.NewGuid());
}
