using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Platform.Definitions.Model;

namespace Platform.Definitions.Compatibility;

/// <summary>
/// Canonical text of the parts of a declaration that decide what stored data becomes: values,
/// updates, and the lineage of an event's fields through its upcasts. No source positions, so
/// moving or commenting YAML changes nothing. The generator hashes it into the fingerprints that
/// make the runtime rebuild a projection's table or ignore a snapshot.
/// </summary>
public static class DeclarationText
{
    public static void Value(StringBuilder text, ValueExpr? value)
    {
        if (value is null)
            return;
        text.Append(value.Kind).Append('(').Append(value.Text).Append('|').Append(value.LiteralKind).Append('|').Append(value.Metadata)
            .Append('|').Append(string.Join(".", value.Path)).Append('|').Append(string.Join(".", value.Factor)).Append(')');
    }

    /// <summary>Updates in target order, which does not change their result (each writes its own target).</summary>
    public static void Updates(StringBuilder text, IEnumerable<StateUpdate> updates)
    {
        foreach (var update in updates.OrderBy(u => u.Target, StringComparer.Ordinal))
        {
            text.Append(":set=").Append(update.Target).Append(' ').Append(update.Operation).Append(' ');
            Value(text, update.Value);
            text.Append(' ').Append(update.MatchMember);
        }
    }

    /// <summary>Conditions in subject order, which does not change their result (all must hold).</summary>
    public static void Conditions(StringBuilder text, IEnumerable<Condition> conditions)
    {
        foreach (var condition in conditions.OrderBy(c => c.Subject, StringComparer.Ordinal).ThenBy(c => c.Operator))
        {
            text.Append(":where=").Append(condition.Subject).Append(' ').Append(condition.Operator);
            foreach (var operand in condition.Operands)
            {
                text.Append(' ');
                Value(text, operand);
            }
        }
    }

    /// <summary>The message field a value reads (<c>$currency</c>, <c>count($items)</c>), if any.</summary>
    public static string? Reads(ValueExpr? value) =>
        value is { Kind: ValueKind.Field or ValueKind.Count or ValueKind.Sum, Path.Count: > 0 } ? value.Path[0] : null;

    /// <summary>The fields that values read, sorted and distinct.</summary>
    public static SortedSet<string> Reads(IEnumerable<ValueExpr?> values)
    {
        var fields = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
            if (Reads(value) is { } field) fields.Add(field);
        return fields;
    }

    /// <summary>
    /// How <paramref name="field"/> of the current version is made from each stored earlier
    /// version, newest first: the upcast step that makes it (a default, a computation, a rename
    /// followed further back), or absent (the type's default); a field copied unchanged adds
    /// nothing, so adding a version that only copies it leaves its lineage alone. A hand-written
    /// upcaster may read anything, so from it on every older version counts whole. Empty when no
    /// step reaches the field. Changing <c>currency: { default: KRW }</c> changes this text for
    /// <c>currency</c> and for no other field: what every stored version-1 event reads as has changed.
    /// </summary>
    public static string Lineage(EventDefinition e, string field)
    {
        if (e.Previous.Count == 0)
            return string.Empty;
        var versions = e.Previous.OrderByDescending(v => v.Version).ToList();
        var text = new StringBuilder();
        var names = new SortedSet<string>(StringComparer.Ordinal) { field };
        for (var i = 0; i < versions.Count && names.Count > 0; i++)
        {
            var from = versions[i];
            var nextFields = i == 0 ? e.Fields : versions[i - 1].Fields;
            if (from.Upcaster is not null)
            {
                text.Append('v').Append(from.Version).Append("{upcaster=").Append(from.Upcaster);
                for (var older = i + 1; older < versions.Count; older++)
                    Version(text, versions[older]);
                return text.Append('}').ToString();
            }
            var steps = new StringBuilder();
            var next = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                var step = from.Upcast.FirstOrDefault(s => s.Field == name);
                var old = from.Fields.FirstOrDefault(f => f.Name == name);
                if (step is { Operation: UpcastOperation.Rename, From: not null })
                {
                    steps.Append(name).Append("=rename:").Append(step.From).Append(';');
                    next.Add(step.From);
                }
                else if (step is { Operation: UpcastOperation.Default or UpcastOperation.Compute, Value: not null })
                {
                    // As the generated upcaster: a default fills an optional old field's nulls only.
                    steps.Append(name).Append('=').Append(step.Operation).Append(':');
                    Value(steps, step.Value);
                    steps.Append(';');
                    if (Reads(step.Value) is { } read) next.Add(read);
                    if (step.Operation == UpcastOperation.Default && old is { Type.IsOptional: true }) next.Add(name);
                }
                else if (old is not null)
                {
                    // A copy; an optional old field read into a required one gets the type's default for null.
                    if (old.Type.IsOptional && nextFields.FirstOrDefault(f => f.Name == name) is { Type.IsOptional: false })
                        steps.Append(name).Append("=copy-or-default;");
                    next.Add(name);
                }
                else
                {
                    steps.Append(name).Append("=absent;");
                }
            }
            if (steps.Length > 0)
                text.Append('v').Append(from.Version).Append('{').Append(steps).Append('}');
            names = next;
        }
        return text.ToString();
    }

    static void Version(StringBuilder text, EventVersionDefinition version)
    {
        text.Append(";v").Append(version.Version).Append('[');
        foreach (var field in version.Fields.OrderBy(f => f.Name, StringComparer.Ordinal))
            text.Append(field.Name).Append(':').Append(field.Type.Display).Append(',');
        if (version.Upcaster is not null)
            text.Append("upcaster=").Append(version.Upcaster);
        foreach (var step in version.Upcast.OrderBy(s => s.Field, StringComparer.Ordinal))
        {
            text.Append(step.Field).Append('=').Append(step.Operation).Append(':').Append(step.From);
            Value(text, step.Value);
            text.Append(',');
        }
        text.Append(']');
    }
}
