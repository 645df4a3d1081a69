using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Compatibility;

/// <summary>
/// Reads and writes the lock file. It is JSON so diffs in review are plain, and it is read with
/// the same guarded YAML reader as the definitions (JSON is YAML), so it needs no JSON package
/// in this netstandard2.0 library.
/// </summary>
public static class LockFileFormat
{
    public const string FileName = "definitions.lock.json";

    public static Result<LockFile> Read(string path, string text)
    {
        var diagnostics = new List<DiagnosticInfo>();
        var root = YamlTreeReader.Read(path, text, diagnostics);
        if (diagnostics.Count > 0) return Invalid(path, diagnostics[0].Span, diagnostics[0].Message);
        if (root is not YamlMapping mapping || mapping.Find("events") is not YamlSequence events)
        {
            return Invalid(path, root?.Span ?? SourceSpan.None(path), "it has no 'events' list");
        }

        var result = new List<LockedEvent>();
        foreach (var item in events.Items)
        {
            if (item is not YamlMapping entry
                || entry.Find("type") is not YamlScalar type
                || entry.Find("event") is not YamlScalar name
                || entry.Find("compatibility") is not YamlScalar mode
                || entry.Find("versions") is not YamlSequence versions
                || !TryMode(mode.Value, out var compatibility))
            {
                return Invalid(path, item.Span, "an event entry needs 'type', 'event', 'compatibility' and 'versions'");
            }
            var lockedVersions = new List<LockedVersion>();
            foreach (var versionItem in versions.Items)
            {
                if (versionItem is not YamlMapping version
                    || version.Find("version") is not YamlScalar number
                    || !int.TryParse(number.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var versionNumber)
                    || version.Find("fingerprint") is not YamlScalar fingerprint
                    || version.Find("fields") is not YamlMapping fields)
                {
                    return Invalid(path, versionItem.Span, "a version entry needs 'version', 'fingerprint' and 'fields'");
                }
                var lockedFields = new List<LockedField>();
                foreach (var field in fields.Entries)
                {
                    if (field.Value is not YamlScalar fieldType) return Invalid(path, field.Value.Span, "a field's type must be a string");
                    lockedFields.Add(new LockedField(field.Key.Value, fieldType.Value));
                }
                lockedVersions.Add(new LockedVersion(versionNumber, fingerprint.Value, new EquatableArray<LockedField>(lockedFields), versionItem.Span));
            }
            result.Add(new LockedEvent(type.Value, name.Value, compatibility, new EquatableArray<LockedVersion>(lockedVersions), item.Span));
        }
        EquatableArray<LockedSaga>? sagas = null;
        if (mapping.Find("sagas") is { } sagasNode)
        {
            if (sagasNode is not YamlSequence sagaItems) return Invalid(path, sagasNode.Span, "'sagas' must be a list");
            var lockedSagas = new List<LockedSaga>();
            foreach (var item in sagaItems.Items)
            {
                if (item is not YamlMapping entry
                    || entry.Find("saga") is not YamlScalar saga
                    || entry.Find("states") is not YamlSequence states
                    || entry.Find("data") is not YamlMapping data)
                {
                    return Invalid(path, item.Span, "a saga entry needs 'saga', 'states' and 'data'");
                }
                var stateNames = new List<string>();
                foreach (var state in states.Items)
                {
                    if (state is not YamlScalar stateName) return Invalid(path, state.Span, "a saga's state must be a string");
                    stateNames.Add(stateName.Value);
                }
                var fields = new List<LockedField>();
                foreach (var field in data.Entries)
                {
                    if (field.Value is not YamlScalar fieldType) return Invalid(path, field.Value.Span, "a field's type must be a string");
                    fields.Add(new LockedField(field.Key.Value, fieldType.Value));
                }
                var skippable = new List<string>();
                if (entry.Find("skippable") is { } skippableNode)
                {
                    if (skippableNode is not YamlSequence steps) return Invalid(path, skippableNode.Span, "a saga's 'skippable' must be a list of step names");
                    foreach (var step in steps.Items)
                    {
                        if (step is not YamlScalar stepName) return Invalid(path, step.Span, "a skippable step must be a string");
                        skippable.Add(stepName.Value);
                    }
                }
                lockedSagas.Add(new LockedSaga(saga.Value, new EquatableArray<string>(stateNames), new EquatableArray<LockedField>(fields), item.Span)
                    { Skippable = new EquatableArray<string>(skippable) });
            }
            sagas = new EquatableArray<LockedSaga>(lockedSagas);
        }
        return new Result<LockFile>(new LockFile(path, new EquatableArray<LockedEvent>(result), sagas), EquatableArray<DiagnosticInfo>.Empty);
    }

    /// <summary>Deterministic output: events by type name, versions ascending, fields by name, sagas by name, LF line ends.</summary>
    public static string Write(LockFile lockFile)
    {
        var events = new List<LockedEvent>(lockFile.Events);
        events.Sort((left, right) => string.CompareOrdinal(left.TypeName, right.TypeName));
        var builder = new StringBuilder();
        builder.Append("{\n  \"lockVersion\": 1,\n  \"events\": [");
        for (var i = 0; i < events.Count; i++)
        {
            var locked = events[i];
            builder.Append(i == 0 ? "\n" : ",\n");
            builder.Append("    {\n");
            builder.Append("      \"type\": ").Append(Json(locked.TypeName)).Append(",\n");
            builder.Append("      \"event\": ").Append(Json(locked.Event)).Append(",\n");
            builder.Append("      \"compatibility\": ").Append(Json(ModeName(locked.Compatibility))).Append(",\n");
            builder.Append("      \"versions\": [");
            var versions = new List<LockedVersion>(locked.Versions);
            versions.Sort((left, right) => left.Version.CompareTo(right.Version));
            for (var j = 0; j < versions.Count; j++)
            {
                var version = versions[j];
                builder.Append(j == 0 ? "\n" : ",\n");
                builder.Append("        {\n");
                builder.Append("          \"version\": ").Append(version.Version.ToString(CultureInfo.InvariantCulture)).Append(",\n");
                builder.Append("          \"fingerprint\": ").Append(Json(version.Fingerprint)).Append(",\n");
                builder.Append("          \"fields\": ");
                WriteFields(builder, version.Fields, "          ");
                builder.Append("        }");
            }
            builder.Append(versions.Count == 0 ? "]\n" : "\n      ]\n");
            builder.Append("    }");
        }
        builder.Append(events.Count == 0 ? "]" : "\n  ]");
        if (lockFile.Sagas is { } lockedSagas)
        {
            var sagas = new List<LockedSaga>(lockedSagas);
            sagas.Sort((left, right) => string.CompareOrdinal(left.Saga, right.Saga));
            builder.Append(",\n  \"sagas\": [");
            for (var i = 0; i < sagas.Count; i++)
            {
                var saga = sagas[i];
                builder.Append(i == 0 ? "\n" : ",\n");
                builder.Append("    {\n");
                builder.Append("      \"saga\": ").Append(Json(saga.Saga)).Append(",\n");
                builder.Append("      \"states\": [");
                for (var j = 0; j < saga.States.Count; j++)
                    builder.Append(j == 0 ? "" : ", ").Append(Json(saga.States[j]));
                builder.Append("],\n");
                // Only when some step can be skipped: a lock without them reads the same either way.
                if (!saga.Skippable.IsEmpty)
                {
                    builder.Append("      \"skippable\": [");
                    for (var j = 0; j < saga.Skippable.Count; j++)
                        builder.Append(j == 0 ? "" : ", ").Append(Json(saga.Skippable[j]));
                    builder.Append("],\n");
                }
                builder.Append("      \"data\": ");
                WriteFields(builder, saga.Data, "      ");
                builder.Append("    }");
            }
            builder.Append(sagas.Count == 0 ? "]" : "\n  ]");
        }
        builder.Append("\n}\n");
        return builder.ToString();
    }

    // {"name": "type", ...} with one field per line, indented under an entry at indent.
    private static void WriteFields(StringBuilder builder, EquatableArray<LockedField> fields, string indent)
    {
        builder.Append('{');
        for (var k = 0; k < fields.Count; k++)
        {
            builder.Append(k == 0 ? "\n" : ",\n");
            builder.Append(indent).Append("  ").Append(Json(fields[k].Name)).Append(": ").Append(Json(fields[k].Type));
        }
        builder.Append(fields.IsEmpty ? "}\n" : "\n" + indent + "}\n");
    }

    public static string ModeName(CompatibilityMode mode) => mode switch
    {
        CompatibilityMode.Backward => "BACKWARD",
        CompatibilityMode.Forward => "FORWARD",
        CompatibilityMode.Full => "FULL",
        CompatibilityMode.None => "NONE",
        _ => "BACKWARD_TRANSITIVE",
    };

    private static bool TryMode(string text, out CompatibilityMode mode)
    {
        mode = text switch
        {
            "BACKWARD" => CompatibilityMode.Backward,
            "FORWARD" => CompatibilityMode.Forward,
            "FULL" => CompatibilityMode.Full,
            "NONE" => CompatibilityMode.None,
            _ => CompatibilityMode.BackwardTransitive,
        };
        return text is "BACKWARD" or "FORWARD" or "FULL" or "NONE" or "BACKWARD_TRANSITIVE";
    }

    private static string Json(string value)
    {
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('"');
        foreach (var character in value)
        {
            switch (character)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                default:
                    if (character < 0x20) builder.Append("\\u").Append(((int)character).ToString("x4", CultureInfo.InvariantCulture));
                    else builder.Append(character);
                    break;
            }
        }
        return builder.Append('"').ToString();
    }

    private static Result<LockFile> Invalid(string path, SourceSpan span, string reason) =>
        new(null, EquatableArray.Of(DiagnosticInfo.Create(DiagnosticCodes.InvalidLockFile, span.Path.Length == 0 ? SourceSpan.None(path) : span, reason)));
}
