using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Erasing a member's personal data (<c>personal: true</c> on the event's fields) on the running
/// runtime: the store keeps the member's events with the email and phone overwritten, the
/// aggregate's state (which never held them) is unchanged, another member keeps hers; the read
/// model that copies them is the one the domain names for a rebuild (<c>PersonalEventTypes</c>), the
/// one that copies only the name is not, and the rebuild leaves no copy; a delayed reaction's command
/// that copied the email and waits to be sent arrives without it.
/// </summary>
public class ErasureTorture
{
    const string Aggregate = """
        aggregate: Member
        namespace: Shop.Members
        id: { name: memberId, type: guid }
        state: { name: string, joined: bool }
        commands:
          Join:
            creates: true
            fields: { name: string, email: string, phone: string?, tags: list<string> }
            emits: Joined
          Rename: { fields: { name: string }, emits: Renamed }
          Welcome: { fields: { email: string }, emits: Welcomed }
          SendCard: { fields: { to: string }, emits: CardSent }
          Notify: { fields: { address: string }, emits: Notified }
        events:
          Joined:
            type: shop.members.joined
            fields:
              name: string
              email: { type: string, personal: true }
              phone: { type: string?, personal: true }
              tags: { type: list<string>, personal: true }
            apply: { name: $name, joined: true }
          Renamed: { type: shop.members.renamed, fields: { name: string }, apply: { name: $name } }
          Welcomed: { type: shop.members.welcomed, fields: { email: { type: string, personal: true } } }
          CardSent: { type: shop.members.card-sent, fields: { to: { type: string, personal: true } } }
          Notified: { type: shop.members.notified, fields: { address: { type: string, personal: true } } }
        """;

    // A saga that sends the email under another name (with: { to: $email }): its history keeps the
    // command as sent, which the erasure finds by the command's field, not the data's.
    const string Onboarding = """
        saga: Onboarding
        namespace: Shop.Members
        correlateBy: memberId
        startedBy: Joined
        data: { memberId: guid, email: string }
        steps:
          - name: Card
            send: SendCard
            with: { to: $email }
            onSuccess: CardSent
            timeout: 1h
            compensation: none
        """;

    // A delayed command that copies the email by name: erased while it waits, it arrives without it.
    const string Reactions = """
        namespace: Shop.Members
        reactions:
          WelcomeMember: { when: Joined, after: 5s, send: Welcome }
          NotifyMember: { when: Joined, after: 5s, send: Notify, with: { address: $email } }
        """;

    const string Directory = """
        projection: MemberDirectory
        namespace: Shop.Members
        aggregate: Member
        key: { name: memberId, type: guid }
        fields: { name: string, email: string, phone: string?, tagCount: int }
        on:
          Joined: { action: insert, set: { name: $name, email: $email, phone: $phone, tagCount: count($tags) } }
          Renamed: { action: update, set: { name: $name } }
        """;

    const string Names = """
        projection: MemberNames
        namespace: Shop.Members
        aggregate: Member
        key: { name: memberId, type: guid }
        fields: { name: string }
        on:
          Joined: { action: insert, set: { name: $name } }
          Renamed: { action: update, set: { name: $name } }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("members/member.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("members/directory.yaml", Directory),
        new GeneratorHarness.InMemoryText("members/names.yaml", Names),
        new GeneratorHarness.InMemoryText("members/reactions.yaml", Reactions),
        new GeneratorHarness.InMemoryText("members/onboarding.yaml", Onboarding));

    const string Service = """
        using Microsoft.EntityFrameworkCore;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Persistence;
        using Platform.Runtime;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Projections;
        using Platform.Torture;

        namespace Shop.Members.Run;

        public static class MemberRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid ann, Guid bo)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(MembersDomain)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    await commands.DispatchAsync(new Join(ann, "Ann", "ann@example.org", "555-0100", ["vip", "early"]));
                    await commands.DispatchAsync(new Join(bo, "Bo", "bo@example.org", null, ["late"]));
                    var last = await commands.DispatchAsync(new Rename(ann, "Ann B."));
                    await Hosted.CaughtUpAsync(services, last.Position, MemberDirectoryProjection.ProjectionName, MemberNamesProjection.ProjectionName);
                    var sagas = Hosted.Sagas(services);
                    foreach (var id in new[] { ann, bo })
                        await Hosted.SagaInAsync(sagas, id, ["Completed"]);

                    var erasure = await services.GetRequiredService<PersonalDataEraser>().EraseAsync(ann.ToString("D"));
                    var lines = new List<string>
                    {
                        $"erased: {erasure.Stream.ErasedEvents} of {erasure.Stream.Events} ({string.Join(", ", erasure.Stream.PersonalTypes)})",
                        $"rebuild: {string.Join(", ", erasure.Rebuild)}",
                        $"waiting messages erased: {erasure.PendingMessages}",
                        $"sagas erased: {string.Join(", ", erasure.Sagas.Select(saga => $"{saga.Saga} ({saga.HistoryRows} history row)"))}",
                    };
                    foreach (var (name, id, email) in new[] { ("ann", ann, "ann@example.org"), ("bo", bo, "bo@example.org") })
                    {
                        var onboarding = (await sagas.GetAsync(id)).Single();
                        lines.Add($"{name} onboarding keeps the email: in its data {onboarding.Instance.Data.Contains(email)}, in what it sent {onboarding.History.Any(h => h.Sent?.Contains(email) == true)}");
                    }
                    Task<List<Platform.Events.EventEnvelope>> Stream(Guid id) => Hosted.StreamAsync(services, id);
                    async Task<bool> Arrived(Guid id) => (await Stream(id)) is var events && events.Any(e => e.Event is Welcomed) && events.Any(e => e.Event is Notified);
                    for (var wait = 0; wait < 300 && !(await Arrived(ann) && await Arrived(bo)); wait++)
                        await Task.Delay(100);
                    foreach (var (name, id) in new[] { ("ann", ann), ("bo", bo) })
                    {
                        // By type: the two delayed commands arrive in either order.
                        var events = (await Stream(id)).Select(e => e.Event).ToList();
                        foreach (var joined in events.OfType<Joined>())
                            lines.Add($"{name} joined: name {joined.Name}, email '{joined.Email}', phone {joined.Phone ?? "none"}, tags {joined.Tags.Count}");
                        foreach (var card in events.OfType<CardSent>())
                            lines.Add($"{name} card sent: to '{card.To}'");
                        foreach (var welcomed in events.OfType<Welcomed>())
                            lines.Add($"{name} welcomed: email '{welcomed.Email}'");
                        foreach (var notified in events.OfType<Notified>())
                            lines.Add($"{name} notified: address '{notified.Address}'");
                        var state = (await services.GetRequiredService<IAggregateStore>().LoadAsync(new Member(), id.ToString("D"))).State;
                        lines.Add($"{name} state: {state.Name}, joined {state.Joined}");
                    }
                    async Task Directory(string when)
                    {
                        await using var rows = await services.GetRequiredService<ReadModels>().OpenAsync(MemberDirectoryProjection.ProjectionName);
                        foreach (var row in (await rows.Set<MemberDirectory>().ToListAsync()).OrderBy(r => r.Name, StringComparer.Ordinal))
                            lines.Add($"{when}: {row.Name} '{row.Email}' {row.Phone ?? "none"} {row.TagCount}");
                    }
                    await Directory("directory");
                    await services.GetRequiredService<ProjectionEngine>().RebuildAsync(MemberDirectoryProjection.ProjectionName);
                    await Directory("rebuilt");
                    return lines;
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task erased_fields_leave_the_store_and_the_read_model_named_for_a_rebuild(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Members", Texts, Service, "Shop.Members.Run.MemberRun",
            [
                "erased: 2 of 3 (shop.members.card-sent, shop.members.joined)",
                "rebuild: MemberDirectory",
                "waiting messages erased: 2",
                "sagas erased: Onboarding (1 history row)",
                "ann onboarding keeps the email: in its data False, in what it sent False",
                "bo onboarding keeps the email: in its data True, in what it sent True",
                "ann joined: name Ann, email '', phone none, tags 0",
                "ann card sent: to ''",
                "ann welcomed: email ''",
                "ann notified: address ''",
                "ann state: Ann B., joined True",
                "bo joined: name Bo, email 'bo@example.org', phone none, tags 1",
                "bo card sent: to 'bo@example.org'",
                "bo welcomed: email 'bo@example.org'",
                "bo notified: address 'bo@example.org'",
                "bo state: Bo, joined True",
                "directory: Ann B. 'ann@example.org' 555-0100 2",
                "directory: Bo 'bo@example.org' none 1",
                "rebuilt: Ann B. '' none 0",
                "rebuilt: Bo 'bo@example.org' none 1",
            ],
            Guid.NewGuid(), Guid.NewGuid());
}
