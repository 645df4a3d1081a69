using System;
using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>State shared by the checks: the set, indexes built once, and the diagnostics so far.</summary>
internal sealed class CheckContext
{
    private readonly List<DiagnosticInfo> _diagnostics = new();

    public CheckContext(DefinitionSet set)
    {
        Set = set;
        foreach (var definition in set.Events)
        {
            if (!Events.ContainsKey(definition.Name)) Events[definition.Name] = definition;
        }
        foreach (var definition in set.Commands)
        {
            if (!Commands.ContainsKey(definition.Name)) Commands[definition.Name] = definition;
        }
        foreach (var definition in set.Aggregates)
        {
            if (!Aggregates.ContainsKey(definition.Name)) Aggregates[definition.Name] = definition;
        }
        foreach (var definition in set.ValueTypes)
        {
            if (!ValueTypes.ContainsKey(definition.Name)) ValueTypes[definition.Name] = definition;
            ValueTypes[definition.Namespace + "." + definition.Name] = definition;
        }
        foreach (var definition in set.Enums)
        {
            if (!Enums.ContainsKey(definition.Name)) Enums[definition.Name] = definition;
            Enums[definition.Namespace + "." + definition.Name] = definition;
        }
    }

    public DefinitionSet Set { get; }

    public Dictionary<string, EventDefinition> Events { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, CommandDefinition> Commands { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, AggregateDefinition> Aggregates { get; } = new(StringComparer.Ordinal);

    /// <summary>The id type of the aggregate that emits <paramref name="definition"/> (what <c>$meta.aggregateId</c> is); null for an event of no known aggregate.</summary>
    public TypeRef? AggregateIdOf(EventDefinition definition) =>
        definition.Aggregate is not null && Aggregates.TryGetValue(definition.Aggregate, out var aggregate) ? aggregate.Id.Type : null;

    public Dictionary<string, ValueTypeDefinition> ValueTypes { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, EnumTypeDefinition> Enums { get; } = new(StringComparer.Ordinal);

    private readonly Dictionary<ValueTypeDefinition, FieldScope> _valueTypeScopes = new(ReferenceEqualityComparer.Instance);

    public FieldScope ScopeOf(ValueTypeDefinition valueType)
    {
        if (!_valueTypeScopes.TryGetValue(valueType, out var scope)) _valueTypeScopes[valueType] = scope = new FieldScope(valueType.Fields);
        return scope;
    }

    public void Report(DiagnosticDescriptor descriptor, SourceSpan span, params object[] arguments) =>
        _diagnostics.Add(DiagnosticInfo.Create(descriptor, span, arguments));

    public List<DiagnosticInfo> SortedDiagnostics()
    {
        var result = new List<DiagnosticInfo>(_diagnostics);
        result.Sort((left, right) =>
        {
            var byPath = string.CompareOrdinal(left.Span.Path, right.Span.Path);
            if (byPath != 0) return byPath;
            var byOffset = left.Span.StartOffset.CompareTo(right.Span.StartOffset);
            return byOffset != 0 ? byOffset : string.CompareOrdinal(left.Code, right.Code);
        });
        return result;
    }

    public EventDefinition? Event(NameRef reference, string what)
    {
        if (Events.TryGetValue(reference.Name, out var found)) return found;
        var qualified = reference.Name.IndexOf('.') > 0 ? Set.FindEvent(reference.Name) : null;
        if (qualified is not null) return qualified;
        Report(DiagnosticCodes.UnknownReference, reference.Span, what, reference.Name, Suggest(reference.Name, Events.Keys));
        return null;
    }

    public CommandDefinition? Command(NameRef reference, string what)
    {
        if (Commands.TryGetValue(reference.Name, out var found)) return found;
        var qualified = reference.Name.IndexOf('.') > 0 ? Set.FindCommand(reference.Name) : null;
        if (qualified is not null) return qualified;
        Report(DiagnosticCodes.UnknownReference, reference.Span, what, reference.Name, Suggest(reference.Name, Commands.Keys));
        return null;
    }

    public Dictionary<string, FieldDefinition> FieldMap(IEnumerable<FieldDefinition> fields)
    {
        var map = new Dictionary<string, FieldDefinition>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            if (!map.ContainsKey(field.Name)) map[field.Name] = field;
        }
        return map;
    }

    // Suggestions compare against every known name; a file with thousands of unknown references
    // in a large set would otherwise make checking quadratic. Past the budget, no suggestion.
    private int _suggestionBudget = 200_000;

    /// <summary>" Did you mean 'X'?" for the closest known name, or nothing.</summary>
    public string Suggest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            if (--_suggestionBudget < 0) return string.Empty;
            var distance = Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = candidate;
            }
        }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 3) ? $" Did you mean '{best}'?" : string.Empty;
    }

    public static string Names(IEnumerable<string> names)
    {
        var list = new List<string>(names);
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }

    private static int Distance(string left, string right)
    {
        if (Math.Abs(left.Length - right.Length) > 8) return int.MaxValue;
        var previous = new int[right.Length + 1];
        var current = new int[right.Length + 1];
        for (var j = 0; j <= right.Length; j++) previous[j] = j;
        for (var i = 1; i <= left.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= right.Length; j++)
            {
                var cost = left[i - 1] == right[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[right.Length];
    }

    /// <summary>Identity, not record equality: hashing a whole value type per lookup would cost more than it saves.</summary>
    private sealed class ReferenceEqualityComparer : IEqualityComparer<ValueTypeDefinition>
    {
        public static readonly ReferenceEqualityComparer Instance = new();

        public bool Equals(ValueTypeDefinition? left, ValueTypeDefinition? right) => ReferenceEquals(left, right);

        public int GetHashCode(ValueTypeDefinition value) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(value);
    }
}
