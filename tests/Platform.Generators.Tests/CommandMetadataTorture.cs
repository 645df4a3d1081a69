using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A command's conditions and the events it emits read the metadata its events will carry: the
/// user who sent it (only a document's owner may delete it, an edit records its editor), the
/// correlation id. The generated code read them as empty, and a guard on the owner refused
/// everyone (the checks now refuse what only exists once stored, PLT0415).
/// </summary>
public class CommandMetadataTorture
{
    const string Aggregate = """
        aggregate: Doc
        namespace: Shop.Docs
        id: { name: docId, type: guid }
        state: { owner: string, editor: string?, flow: string? }
        commands:
          CreateDoc:
            creates: true
            emits:
              DocCreated: { owner: $meta.userId }
          EditDoc:
            emits:
              DocEdited: { editor: $meta.userId, flow: $meta.correlationId, command: $meta.causationId }
          DeleteDoc:
            when: { owner: $meta.userId }
            emits: DocDeleted
            instead:
              - when: { editor: $meta.userId }
                emits: DocFlagged
        events:
          DocCreated: { type: shop.docs.created, fields: { owner: string? }, apply: { owner: $owner } }
          DocEdited: { type: shop.docs.edited, fields: { editor: string?, flow: string?, command: string? }, apply: { editor: $editor, flow: $flow } }
          DocDeleted: { type: shop.docs.deleted }
          DocFlagged: { type: shop.docs.flagged }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("docs/doc.yaml", Aggregate));

    const string Service = """
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Commands;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Torture;

        namespace Shop.Docs.Run;

        public static class DocRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid doc)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(DocsDomain)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    var lines = new List<string>();
                    async Task Try(string what, object command, string? user)
                    {
                        try
                        {
                            var accepted = await commands.DispatchAsync(command, new CommandContext(CorrelationId: "flow-1", UserId: user));
                            lines.Add($"{what}: accepted at version {accepted.Version}");
                        }
                        catch (CommandRejectedException rejected)
                        {
                            lines.Add($"{what}: {rejected.Message}");
                        }
                    }
                    await Try("ann creates", new CreateDoc(doc), "ann");
                    await Try("bob edits", new EditDoc(doc), "bob");
                    await Try("cy deletes", new DeleteDoc(doc), "cy");
                    await Try("nobody deletes", new DeleteDoc(doc), null);
                    await Try("bob deletes", new DeleteDoc(doc), "bob");
                    var state = (await services.GetRequiredService<IAggregateStore>().LoadAsync(new Doc(), doc.ToString("D"))).State;
                    lines.Add($"owner {state.Owner}, editor {state.Editor}, flow {state.Flow}");
                    await Try("ann deletes", new DeleteDoc(doc), "ann");
                    await foreach (var e in services.GetRequiredService<IEventStore>().ReadStreamAsync(doc.ToString("D")))
                    {
                        if (e.Event is DocEdited edited)
                            lines.Add($"edited by the command that caused it: {edited.Command == e.CausationId}");
                        lines.Add($"{e.Event.GetType().Name} by {e.Metadata.UserId}");
                    }
                    return lines;
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task a_commands_guards_and_events_read_the_user_and_flow_it_is_sent_with(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Docs", Texts, Service, "Shop.Docs.Run.DocRun",
            [
                "ann creates: accepted at version 1",
                "bob edits: accepted at version 2",
                "cy deletes: DeleteDoc rejected by Doc: owner must be $meta.userId",
                "nobody deletes: DeleteDoc rejected by Doc: owner must be $meta.userId",
                "bob deletes: DeleteDoc rejected by Doc: owner must be $meta.userId",
                "owner ann, editor bob, flow flow-1",
                "ann deletes: accepted at version 3",
                "DocCreated by ann",
                "edited by the command that caused it: True",
                "DocEdited by bob",
                "DocDeleted by ann",
            ],
            Guid.NewGuid());
}
