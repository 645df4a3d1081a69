using System;
using System.Collections.Generic;

namespace Platform.Definitions.Model;

/// <summary>
/// Which fields of an event's stored versions hold personal data (<c>personal: true</c>), and what
/// an erasure writes over them. A name marked in any version is personal in every version that has
/// it, and an upcast's <c>rename</c> carries the mark back to the older name, so that payloads
/// stored before the mark was added, or under the old name, are erased too.
/// </summary>
public static class PersonalData
{
    /// <summary>
    /// The JSON an erased field of <paramref name="type"/> holds: <c>null</c> when optional, else
    /// empty text, an empty list or an empty map; null when the type has none (PLT0312).
    /// </summary>
    public static string? ErasedJson(TypeRef type) =>
        type.IsOptional ? "null"
        : type.Kind == TypeKind.Primitive && type.Primitive == PrimitiveType.String ? "\"\""
        : type.Kind == TypeKind.List ? "[]"
        : type.Kind == TypeKind.Map ? "{}"
        : null;

    /// <summary>The personal fields of each version of <paramref name="e"/>, by version, in declaration order; empty when it has none.</summary>
    public static SortedDictionary<int, List<FieldDefinition>> ByVersion(EventDefinition e)
    {
        var names = new HashSet<string>();
        foreach (var field in e.Fields)
            if (field.IsPersonal) names.Add(field.Name);
        foreach (var previous in e.Previous)
            foreach (var field in previous.Fields)
                if (field.IsPersonal) names.Add(field.Name);
        var versions = new SortedDictionary<int, List<FieldDefinition>>();
        if (names.Count == 0) return versions;
        // Newest first, so a rename's target is known personal before its source's version is read.
        var previousVersions = new List<EventVersionDefinition>(e.Previous);
        previousVersions.Sort((a, b) => b.Version.CompareTo(a.Version));
        foreach (var previous in previousVersions)
            foreach (var step in previous.Upcast)
                if (step.Operation == UpcastOperation.Rename && step.From is { } from && names.Contains(step.Field))
                    names.Add(from);
        Add(versions, e.Version, e.Fields, names);
        foreach (var previous in e.Previous) Add(versions, previous.Version, previous.Fields, names);
        return versions;
    }

    /// <summary>The names of <paramref name="e"/>'s personal fields in its current version; empty for none or no event.</summary>
    public static HashSet<string> CurrentNames(EventDefinition? e)
    {
        var names = new HashSet<string>();
        if (e is not null && ByVersion(e).TryGetValue(e.Version, out var fields))
            foreach (var field in fields) names.Add(field.Name);
        return names;
    }

    /// <summary>
    /// The saga data fields that hold personal data, in declaration order: marked <c>personal:</c>,
    /// filled by name from a personal field of a start event, or kept (<c>keep:</c>) from a personal
    /// field of a step's reply or a handled event. An erasure of the stream that started the saga
    /// overwrites them in its row, which outlives the saga.
    /// </summary>
    /// <param name="saga">The saga.</param>
    /// <param name="personalFieldsOf">The personal fields of an event's current version, by the event's name (<see cref="CurrentNames"/>).</param>
    public static List<FieldDefinition> SagaFields(SagaDefinition saga, Func<string, HashSet<string>> personalFieldsOf)
    {
        var personal = new HashSet<string>();
        var fromStart = new HashSet<string>();
        foreach (var start in saga.StartEvents) fromStart.UnionWith(personalFieldsOf(start.Name));
        foreach (var field in saga.Data)
            if (field.IsPersonal || fromStart.Contains(field.Name)) personal.Add(field.Name);
        foreach (var step in saga.Steps)
        {
            var sources = new HashSet<string>();
            foreach (var reply in step.OnSuccess) sources.UnionWith(personalFieldsOf(reply.Name));
            Kept(step.Keep, sources, personal);
        }
        foreach (var handler in saga.Handlers)
            Kept(handler.Keep, personalFieldsOf(handler.Event.Name), personal);
        var fields = new List<FieldDefinition>();
        foreach (var field in saga.Data)
            if (personal.Contains(field.Name)) fields.Add(field);
        return fields;
    }

    /// <summary>
    /// The fields of the commands sagas and reactions send that carry personal data, by command,
    /// in the command's declaration order: filled, by <c>with:</c> or by name, from a personal saga
    /// data field (<see cref="SagaFields"/>) or a personal field of the reaction's event. An erasure
    /// overwrites them in the copies the platform keeps of what was sent (a saga's history, messages
    /// waiting to be sent), whatever the command calls them. Commands these files do not declare
    /// are left out.
    /// </summary>
    /// <param name="files">The definition set's files.</param>
    public static SortedDictionary<string, (CommandDefinition Command, List<FieldDefinition> Fields)> SentFields(IReadOnlyList<DefinitionFile> files)
    {
        var events = new Dictionary<string, EventDefinition>();
        var commands = new Dictionary<string, CommandDefinition>();
        foreach (var file in files)
        {
            foreach (var e in file.Events) events[e.Name] = e;
            foreach (var command in file.Aggregate?.Commands ?? file.Contracts?.Commands ?? EquatableArray<CommandDefinition>.Empty)
                commands[command.Name] = command;
        }
        HashSet<string> PersonalOf(string name) => CurrentNames(events.TryGetValue(name, out var e) ? e : null);
        var sent = new SortedDictionary<string, (CommandDefinition Command, List<FieldDefinition> Fields)>(StringComparer.Ordinal);
        void Sends(NameRef command, EquatableArray<FieldAssignment> with, HashSet<string> personal)
        {
            if (personal.Count == 0 || !commands.TryGetValue(command.Name, out var definition)) return;
            foreach (var field in definition.Fields)
            {
                FieldAssignment? assigned = null;
                foreach (var assignment in with)
                    if (assignment.Target == field.Name) assigned = assignment;
                var carries = assigned is null
                    ? personal.Contains(field.Name)
                    : assigned.Value.Kind == ValueKind.Field && assigned.Value.Path.Count > 0 && personal.Contains(assigned.Value.Path[0]);
                if (!carries) continue;
                if (!sent.TryGetValue(command.Name, out var entry))
                    sent[command.Name] = entry = (definition, new List<FieldDefinition>());
                if (!entry.Fields.Exists(f => f.Name == field.Name)) entry.Fields.Add(field);
            }
        }
        foreach (var file in files)
        {
            if (file.Saga is { } saga)
            {
                var personal = new HashSet<string>();
                foreach (var field in SagaFields(saga, PersonalOf)) personal.Add(field.Name);
                foreach (var step in saga.Steps)
                {
                    Sends(step.Send, step.With, personal);
                    if (step.Compensation is { } compensation) Sends(compensation.Command, compensation.With, personal);
                }
            }
            foreach (var reaction in file.Reactions)
                Sends(reaction.Send, reaction.With, PersonalOf(reaction.When.Name));
        }
        // In the command's declaration order.
        foreach (var entry in sent.Values)
            entry.Fields.Sort((a, b) => IndexOf(entry.Command, a).CompareTo(IndexOf(entry.Command, b)));
        return sent;
    }

    static int IndexOf(CommandDefinition command, FieldDefinition field)
    {
        for (var i = 0; i < command.Fields.Count; i++)
            if (command.Fields[i].Name == field.Name) return i;
        return -1;
    }

    static void Kept(EquatableArray<FieldAssignment> keep, HashSet<string> sources, HashSet<string> personal)
    {
        foreach (var assignment in keep)
        {
            var value = assignment.Value;
            if (value.Kind is ValueKind.Field or ValueKind.Count or ValueKind.Sum && value.Path.Count > 0 && sources.Contains(value.Path[0]))
                personal.Add(assignment.Target);
        }
    }

    static void Add(SortedDictionary<int, List<FieldDefinition>> versions, int version, EquatableArray<FieldDefinition> fields, HashSet<string> names)
    {
        var personal = new List<FieldDefinition>();
        foreach (var field in fields)
            if (names.Contains(field.Name)) personal.Add(field);
        if (personal.Count > 0) versions[version] = personal;
    }
}
