using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Definitions whose names are the ones generated code uses for itself (its parameters, locals,
/// lambda parameters, helper types): whatever the checks accept compiles.
/// </summary>
public class NameTorture
{
    // Field names that are locals or parameters of generated methods, in every kind of definition.
    const string Names = "state, version, command, envelope, value, output, reader, errors, context, saga, row, json, id, hash, source, builder, message, result, events, position, metadata, name, current, previous, rows, db, options";

    [Fact]
    public void fields_named_like_the_generated_codes_own_identifiers_compile()
    {
        var fields = string.Join(", ", Names.Split(", ").Select(n => n + ": string"));
        var aggregate = $$"""
            aggregate: Widget
            namespace: Shop.Torture
            id: { name: widgetId, type: guid }
            snapshot: { every: 10 }
            types:
              Part: { {{fields}} }
            state: { {{fields}}, part: Part?, count: int }
            commands:
              MakeWidget:
                creates: true
                fields: { {{fields}} }
                emits: WidgetMade
            events:
              WidgetMade:
                type: shop.torture.widget-made
                version: 2
                fields: { {{fields}} }
                apply: { {{string.Join(", ", Names.Split(", ").Select(n => $"{n}: ${n}"))}}, count: { increment: 1 } }
                previous:
                  - version: 1
                    fields: { {{string.Join(", ", Names.Split(", ").Where(n => n != "state").Select(n => n + ": string"))}} }
                    upcast:
                      state: { default: new }
            """;
        var projection = $$"""
            projection: WidgetView
            namespace: Shop.Torture
            aggregate: Widget
            key: { name: widgetId, type: guid }
            fields: { {{fields}}, count: int }
            on:
              WidgetMade:
                action: upsert
                set: { {{string.Join(", ", Names.Split(", ").Select(n => $"{n}: ${n}"))}}, count: { increment: 1 } }
            """;
        // A saga and a reaction whose data, commands and replies use the same names, and the names
        // the generated state machine uses in its lambdas and helpers.
        var sagaNames = Names.Replace("version, ", "", StringComparison.Ordinal) + ", x, s, r, late, deadLetter, streamId, key, widget"; // Version is the saga's own (PLT0208)
        var sagaFields = string.Join(", ", sagaNames.Split(", ").Select(n => n + ": string?"));
        var optional = string.Join(", ", Names.Split(", ").Select(n => n + ": string?"));
        var kept = string.Join(", ", sagaNames.Split(", ").Where(n => Names.Split(", ").Contains(n)).Select(n => $"{n}: ${n}"));
        var contracts = $$"""
            contracts: Polishing
            namespace: Shop.Torture
            commands:
              PolishWidget:
                fields: { widgetId: guid, {{optional}} }
              UnpolishWidget:
                fields: { widgetId: guid, {{optional}} }
            events:
              WidgetPolished:
                kind: integration
                type: shop.torture.widget-polished
                fields: { widgetId: guid, {{optional}} }
              PolishFailed:
                kind: integration
                type: shop.torture.polish-failed
                fields: { widgetId: guid, {{optional}} }
              WidgetUnpolished:
                kind: integration
                type: shop.torture.widget-unpolished
                fields: { widgetId: guid }
            """;
        var saga = $$"""
            saga: Polish
            namespace: Shop.Torture
            correlateBy: widgetId
            startedBy: WidgetMade
            timeout: 1h
            data: { widgetId: guid, {{sagaFields}} }
            steps:
              - name: Polishing
                send: PolishWidget
                onSuccess: WidgetPolished
                onFailure: PolishFailed
                keep: { {{kept}} }
                timeout: 5m
                compensate:
                  send: UnpolishWidget
                  onSuccess: WidgetUnpolished
                  timeout: 5m
              - name: Check
                send: PolishWidget
                onSuccess: WidgetPolished
                onFailure: PolishFailed
                compensation: none
            """;
        var reactions = $$"""
            reactions:
              PolishWhenMade:
                when: WidgetMade
                send: PolishWidget
            namespace: Shop.Torture
            """;
        var texts = ImmutableArray.Create<AdditionalText>(
            new GeneratorHarness.InMemoryText("torture/widget.yaml", aggregate),
            new GeneratorHarness.InMemoryText("torture/widget-view.yaml", projection),
            new GeneratorHarness.InMemoryText("torture/polishing.yaml", contracts),
            new GeneratorHarness.InMemoryText("torture/polish.yaml", saga),
            new GeneratorHarness.InMemoryText("torture/reactions.yaml", reactions));
        GeneratorHarness.Compiles(texts, GeneratorHarness.CreateCompilation("Shop.Torture"));
    }
}

public class TypeNameTorture
{
    // Types and messages named like the BCL, MassTransit and platform types generated code refers to.
    [Fact]
    public void types_and_messages_named_like_framework_types_compile()
    {
        var aggregate = """
            aggregate: Task
            namespace: Shop.Platform
            id: { name: taskId, type: guid }
            types:
              Guid: { value: string }
              Exception: { enum: [A, B] }
            state: { owner: Guid?, kind: Exception, count: int }
            commands:
              Send:
                creates: true
                fields: { owner: Guid, kind: Exception }
                emits: State
              Schedule:
                emits: Action
              Touch:
                emits: [Added, Removed, Same, SameText, Apply, Handle, Definition, CreateEmpty]
            events:
              State:
                type: shop.platform.state
                fields: { owner: Guid, kind: Exception }
                apply: { owner: $owner, kind: $kind, count: { increment: 1 } }
              Action:
                type: shop.platform.action
                apply: { count: { increment: 1 } }
              Added: { type: shop.platform.added, apply: { count: { increment: 1 } } }
              Removed: { type: shop.platform.removed, apply: { count: { increment: 1 } } }
              Same: { type: shop.platform.same, apply: { count: { increment: 1 } } }
              SameText: { type: shop.platform.same-text, apply: { count: { increment: 1 } } }
              Apply: { type: shop.platform.apply, apply: { count: { increment: 1 } } }
              Handle: { type: shop.platform.handle, apply: { count: { increment: 1 } } }
              Definition: { type: shop.platform.definition, apply: { count: { increment: 1 } } }
              CreateEmpty: { type: shop.platform.create-empty, apply: { count: { increment: 1 } } }
            """;
        var projection = """
            projection: Consumer
            namespace: Shop.Platform
            aggregate: Task
            key: { name: taskId, type: guid }
            fields: { count: int }
            on:
              State: { action: insert, set: { count: 1 } }
              Action: { action: update, set: { count: { increment: 1 } } }
              Added: { action: update, set: { count: { increment: 1 } } }
              Same: { action: update, set: { count: { increment: 1 } } }
              Apply: { action: update, set: { count: { increment: 1 } } }
            """;
        var texts = ImmutableArray.Create<AdditionalText>(
            new GeneratorHarness.InMemoryText("platform/task.yaml", aggregate),
            new GeneratorHarness.InMemoryText("platform/consumer.yaml", projection));
        GeneratorHarness.Compiles(texts, GeneratorHarness.CreateCompilation("Shop.Platform"));
    }
}
