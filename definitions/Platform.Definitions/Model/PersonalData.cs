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
