using System.Collections.Generic;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>One registration per definition set: <c>OrdersDomain</c> lists every generated type, and
/// <c>services.AddOrdersDomain()</c> wires them into the runtime's container.</summary>
internal static class RegistrationEmitter
{
    public static RegistrationModel Model(string assemblyName, IReadOnlyList<DefinitionFile> files)
    {
        var ordered = new List<DefinitionFile>(files);
        ordered.Sort((left, right) => string.CompareOrdinal(left.Path, right.Path));
        var events = new List<string>();
        var aggregates = new List<string>();
        var projections = new List<string>();
        var reactions = new List<string>();
        var sagas = new List<string>();
        foreach (var file in ordered)
        {
            foreach (var e in file.Events) events.Add(Names.Global(e.Namespace, e.Name));
            if (file.Aggregate is { } a) aggregates.Add(Names.Global(a.Namespace, a.Name));
            if (file.Projection is { } p) projections.Add(Names.Global(p.Namespace, p.Name));
            foreach (var r in file.Reactions) reactions.Add(Names.Global(r.Namespace, r.Name));
            if (file.Saga is { } s) sagas.Add(Names.Global(s.Namespace, s.Name));
        }
        // Each command that carries personal data, as an initializer entry of PersonalMessageFields.
        var personal = new List<string>();
        foreach (var entry in PersonalData.SentFields(ordered).Values)
        {
            var fields = new List<string>();
            foreach (var field in entry.Fields)
                if (PersonalData.ErasedJson(field.Type) is { } erased)
                    fields.Add($"new global::Platform.Events.PersonalField({CSharpLiteral.String(field.Name)}, {CSharpLiteral.String(erased)})");
            if (fields.Count > 0)
                personal.Add($"[{CSharpLiteral.String(entry.Command.Namespace + "." + entry.Command.Name)}] = new global::Platform.Events.PersonalField[] {{ {string.Join(", ", fields)} }},");
        }
        var segments = assemblyName.Split('.');
        var domain = Identifier(segments[segments.Length - 1]);
        var ns = ordered.Count > 0 ? ordered[0].Namespace : domain;
        return new RegistrationModel(domain, ns,
            new EquatableArray<string>(events.ToArray()), new EquatableArray<string>(aggregates.ToArray()),
            new EquatableArray<string>(projections.ToArray()), new EquatableArray<string>(sagas.ToArray()),
            new EquatableArray<string>(reactions.ToArray()), new EquatableArray<string>(personal.ToArray()));
    }

    /// <summary>The assembly name comes from the project, not YAML; keep letters and digits only.</summary>
    static string Identifier(string text)
    {
        var builder = new System.Text.StringBuilder();
        foreach (var character in text)
            if (character is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_') builder.Append(character);
        if (builder.Length == 0 || char.IsDigit(builder[0])) builder.Insert(0, "Definitions");
        return Names.Pascal(builder.ToString());
    }

    public static GeneratedSource Emit(RegistrationModel model, bool withServiceCollection, bool withMassTransit, string hash)
    {
        var w = SourceFile.Start("the definition set", hash, model.Namespace);
        var type = model.Domain + "Domain";
        w.Line($"/// <summary>Every type generated from this service's definitions.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public static partial class {type}"))
        {
            w.Line("/// <summary>The descriptor of every event, current version, with its upcasters.</summary>");
            using (w.Block("public static global::System.Collections.Generic.IReadOnlyList<global::Platform.Events.EventTypeDescriptor> EventTypes { get; } = new global::Platform.Events.EventTypeDescriptor[]"))
            {
                foreach (var e in model.EventTypes) w.Line(e + "EventType.Instance,");
            }
            w.Line(";");
            w.Line();
            w.Line("/// <summary>A registry of <see cref=\"EventTypes\"/> for the event store and transports.</summary>");
            w.Line("public static global::Platform.Events.EventTypeRegistry CreateEventTypeRegistry() => new(EventTypes);");
            w.Line();
            w.Line("/// <summary>The aggregate definitions, as <c>AggregateDefinition&lt;TState&gt;</c> instances.</summary>");
            using (w.Block("public static global::System.Collections.Generic.IReadOnlyList<object> Aggregates { get; } = new object[]"))
            {
                foreach (var a in model.Aggregates) w.Line(a + ".Definition,");
            }
            w.Line(";");
            w.Line();
            w.Line("/// <summary>The projection handler types.</summary>");
            using (w.Block("public static global::System.Collections.Generic.IReadOnlyList<global::System.Type> Projections { get; } = new global::System.Type[]"))
            {
                foreach (var p in model.Projections) w.Line($"typeof({p}Projection),");
            }
            w.Line(";");
            w.Line();
            w.Line("/// <summary>The saga state machine types, as (state machine, state) pairs.</summary>");
            using (w.Block("public static global::System.Collections.Generic.IReadOnlyList<(global::System.Type StateMachine, global::System.Type State)> Sagas { get; } = new (global::System.Type, global::System.Type)[]"))
            {
                foreach (var s in model.Sagas) w.Line($"(typeof({s}StateMachine), typeof({s}State)),");
            }
            w.Line(";");
            w.Line();
            w.Line("/// <summary>The reaction consumer types.</summary>");
            using (w.Block("public static global::System.Collections.Generic.IReadOnlyList<global::System.Type> Reactions { get; } = new global::System.Type[]"))
            {
                foreach (var r in model.Reactions) w.Line($"typeof({r}),");
            }
            w.Line(";");
            if (model.PersonalMessages.Count > 0)
            {
                w.Line();
                w.Line("/// <summary>");
                w.Line("/// The fields of the commands the sagas and reactions send that carry personal data, by the");
                w.Line("/// command's full name, and the JSON an erasure writes over them in the copies kept of what was");
                w.Line("/// sent (a saga's history, messages waiting to be sent).");
                w.Line("/// </summary>");
                using (w.Block("public static global::System.Collections.Generic.IReadOnlyDictionary<string, global::System.Collections.Generic.IReadOnlyList<global::Platform.Events.PersonalField>> PersonalMessageFields { get; } = new global::System.Collections.Generic.Dictionary<string, global::System.Collections.Generic.IReadOnlyList<global::Platform.Events.PersonalField>>(global::System.StringComparer.Ordinal)"))
                {
                    foreach (var line in model.PersonalMessages) w.Line(line);
                }
                w.Line(";");
            }
        }
        if (withServiceCollection)
        {
            w.Line();
            w.Line($"/// <summary>Registers the <c>{model.Domain}</c> definitions with the runtime's container.</summary>");
            w.Line(SourceFile.GeneratedCode);
            using (w.Block($"public static partial class {type}ServiceCollectionExtensions"))
            {
                w.Line("/// <summary>Adds every event descriptor, aggregate definition and projection of this domain.</summary>");
                using (w.Block($"public static global::Microsoft.Extensions.DependencyInjection.IServiceCollection Add{type}(this global::Microsoft.Extensions.DependencyInjection.IServiceCollection services)"))
                {
                    using (w.Block($"foreach (var descriptor in {type}.EventTypes)"))
                        w.Line("global::Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, descriptor);");
                    foreach (var a in model.Aggregates)
                        w.Line($"global::Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, {a}.Definition);");
                    foreach (var p in model.Projections)
                        w.Line($"global::Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<{p}Projection>(services);");
                    w.Line("return services;");
                }
            }
        }
        if (withMassTransit && (model.Sagas.Count > 0 || model.Reactions.Count > 0))
        {
            w.Line();
            w.Line($"/// <summary>Registers the <c>{model.Domain}</c> sagas and reactions with MassTransit.</summary>");
            w.Line(SourceFile.GeneratedCode);
            using (w.Block($"public static partial class {type}BusRegistrationExtensions"))
            {
                w.Line("/// <summary>Adds every saga state machine and reaction consumer of this domain. Sagas use the repository the runtime");
                w.Line("/// sets with <c>SetSagaRepositoryProvider</c>.</summary>");
                using (w.Block($"public static global::MassTransit.IBusRegistrationConfigurator Add{type}(this global::MassTransit.IBusRegistrationConfigurator bus)"))
                {
                    foreach (var s in model.Sagas)
                        w.Line($"bus.AddSagaStateMachine<{s}StateMachine, {s}State>();");
                    foreach (var r in model.Reactions)
                        w.Line($"bus.AddConsumer<{r}>();");
                    w.Line("return bus;");
                }
            }
        }
        return new GeneratedSource(model.Namespace + "." + type + ".g.cs", w.ToString());
    }
}
