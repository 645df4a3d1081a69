using System.Collections.Generic;
using Platform.Definitions.Checks;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Compatibility;

/// <summary>
/// Compares the definitions with the published versions in the lock file. A published version is
/// immutable; new versions must be compatible under the event's mode; a deployed saga keeps the
/// states and data its stored instances need; <see cref="Accept"/> is the one deliberate way to
/// publish them.
/// </summary>
public static class CompatibilityLock
{
    /// <summary>
    /// For a build: the lock file's text as the compiler sees it (an AdditionalFile named
    /// <see cref="LockFileFormat.FileName"/>), or null when the project has none.
    /// </summary>
    public static EquatableArray<DiagnosticInfo> Check(DefinitionSet set, string lockPath, string? lockText)
    {
        if (lockText is null) return Check(set, (LockFile?)null);
        var read = LockFileFormat.Read(lockPath, lockText);
        return read.Value is null ? read.Diagnostics : Check(set, read.Value);
    }

    public static EquatableArray<DiagnosticInfo> Check(DefinitionSet set, LockFile? lockFile)
    {
        var diagnostics = new List<DiagnosticInfo>();
        var locked = new Dictionary<string, LockedEvent>(System.StringComparer.Ordinal);
        if (lockFile is not null)
        {
            foreach (var entry in lockFile.Events) locked[entry.TypeName] = entry;
        }

        var declaredTypes = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (var definition in set.Events)
        {
            declaredTypes.Add(definition.TypeName);
            var versions = Versions(set, definition);
            locked.TryGetValue(definition.TypeName, out var published);
            var publishedVersions = new Dictionary<int, LockedVersion>();
            if (published is not null)
            {
                foreach (var version in published.Versions) publishedVersions[version.Version] = version;
            }
            var strict = definition.Compatibility != CompatibilityMode.None;
            var keepsAll = definition.Compatibility is CompatibilityMode.BackwardTransitive or CompatibilityMode.Full;
            var latestPublished = 0;
            foreach (var version in publishedVersions.Keys) latestPublished = System.Math.Max(latestPublished, version);

            foreach (var pair in publishedVersions)
            {
                if (versions.TryGetValue(pair.Key, out var current))
                {
                    if (strict && current.Fingerprint != pair.Value.Fingerprint)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.LockedVersionEdited, current.Span, pair.Key, definition.Name, pair.Value.Fingerprint, definition.Version + 1));
                    }
                }
                else if (strict && (keepsAll || pair.Key == latestPublished))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.LockedVersionDeleted, definition.Span, pair.Key, definition.TypeName));
                }
            }

            foreach (var pair in versions)
            {
                if (publishedVersions.ContainsKey(pair.Key)) continue;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.VersionNotLocked, pair.Value.Span, pair.Key, definition.Name));
                if (!strict) continue;
                // Compare with the newest published version older than this one.
                LockedVersion? baseline = null;
                foreach (var version in publishedVersions.Values)
                {
                    if (version.Version < pair.Key && (baseline is null || version.Version > baseline.Version)) baseline = version;
                }
                if (baseline is null) continue;
                var problem = Incompatibility(definition, baseline, pair.Key, pair.Value);
                if (problem is not null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.IncompatibleChange, pair.Value.Span, pair.Key, definition.Name,
                        LockFileFormat.ModeName(definition.Compatibility), baseline.Version, problem));
                }
            }
        }

        foreach (var entry in locked.Values)
        {
            if (declaredTypes.Contains(entry.TypeName) || entry.Compatibility == CompatibilityMode.None) continue;
            foreach (var version in entry.Versions)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.LockedVersionDeleted, version.Span, version.Version, entry.TypeName));
            }
        }
        if (lockFile?.Sagas is { } sagas) CheckSagas(set, sagas, diagnostics);
        return new EquatableArray<DiagnosticInfo>(diagnostics);
    }

    /// <summary>
    /// A saga's stored instances outlive a deploy: the states they are in and the data they hold
    /// must still be declared and readable by the new build. Removing a state or the saga, or
    /// changing a data field so old data no longer reads, is an error; what only adds is a warning
    /// until locked.
    /// </summary>
    private static void CheckSagas(DefinitionSet set, EquatableArray<LockedSaga> lockedSagas, List<DiagnosticInfo> diagnostics)
    {
        var locked = new Dictionary<string, LockedSaga>(System.StringComparer.Ordinal);
        foreach (var saga in lockedSagas) locked[saga.Saga] = saga;
        var declared = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (var saga in set.Sagas)
        {
            declared.Add(saga.Name);
            var states = SagaStates.Of(saga);
            var data = CanonicalSchema.Fields(set, saga.Data);
            if (!locked.TryGetValue(saga.Name, out var published))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.SagaNotLocked, saga.Span, saga.Name, "a new saga"));
                continue;
            }
            var added = new List<string>();
            var publishedStates = new HashSet<string>(published.States, System.StringComparer.Ordinal);
            foreach (var state in published.States)
            {
                if (!states.Contains(state)) diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.LockedSagaStateRemoved, saga.Span, state, saga.Name));
            }
            foreach (var state in states)
            {
                if (!publishedStates.Contains(state)) added.Add("state " + state);
            }

            var old = new Dictionary<string, string>(System.StringComparer.Ordinal);
            foreach (var field in published.Data) old[field.Name] = field.Type;
            var spans = new Dictionary<string, SourceSpan>(System.StringComparer.Ordinal);
            foreach (var field in saga.Data) spans[field.Name] = field.Span;
            foreach (var field in data)
            {
                var span = spans[field.Name];
                if (!old.TryGetValue(field.Name, out var oldType))
                {
                    if (field.Type.EndsWith("?", System.StringComparison.Ordinal)) added.Add("field " + field.Name);
                    else diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.SagaDataIncompatible, span, saga.Name,
                        $"the new required field '{field.Name}' has no value in them; declare it optional ({field.Type}?)"));
                    continue;
                }
                if (Strip(oldType) != Strip(field.Type))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.SagaDataIncompatible, span, saga.Name,
                        $"'{field.Name}' changed from {oldType} to {field.Type}"));
                else if (oldType.EndsWith("?", System.StringComparison.Ordinal) && !field.Type.EndsWith("?", System.StringComparison.Ordinal))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.SagaDataIncompatible, span, saga.Name,
                        $"'{field.Name}' became required, and instances stored without a value have none"));
                else if (oldType != field.Type)
                    added.Add("field " + field.Name + " optional");
            }
            foreach (var field in old.Keys)
            {
                if (!spans.ContainsKey(field)) added.Add("field " + field + " removed");
            }
            // A stored instance's skip mark is read only for a step that can be skipped.
            var skippable = Skippable(saga);
            var wasSkippable = new HashSet<string>(published.Skippable, System.StringComparer.Ordinal);
            foreach (var step in saga.Steps)
            {
                if (wasSkippable.Contains(step.Name) && !skippable.Contains(step.Name))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.SagaStepNoLongerSkippable, step.Span, step.Name, saga.Name));
                else if (!wasSkippable.Contains(step.Name) && skippable.Contains(step.Name))
                    added.Add("step " + step.Name + " skippable");
            }
            if (added.Count > 0) diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.SagaNotLocked, saga.Span, saga.Name, string.Join(", ", added)));
        }
        foreach (var saga in lockedSagas)
        {
            if (!declared.Contains(saga.Saga)) diagnostics.Add(DiagnosticInfo.Create(DiagnosticCodes.LockedSagaRemoved, saga.Span, saga.Saga));
        }
    }

    /// <summary>True for the errors of a saga change that strands stored instances, which <c>platform lock --accept-saga-changes</c> accepts.</summary>
    public static bool IsSagaChange(DiagnosticInfo diagnostic) =>
        diagnostic.Code == DiagnosticCodes.LockedSagaRemoved.Code || diagnostic.Code == DiagnosticCodes.LockedSagaStateRemoved.Code
        || diagnostic.Code == DiagnosticCodes.SagaDataIncompatible.Code || diagnostic.Code == DiagnosticCodes.SagaStepNoLongerSkippable.Code;

    /// <summary>The names of the steps of <paramref name="saga"/> that can be skipped.</summary>
    private static List<string> Skippable(SagaDefinition saga)
    {
        var marks = SagaStates.Skippable(saga);
        var names = new List<string>();
        for (var i = 0; i < saga.Steps.Count; i++)
            if (marks[i]) names.Add(saga.Steps[i].Name);
        return names;
    }

    /// <summary>The lock file that publishes every version as currently declared.</summary>
    public static LockFile Accept(DefinitionSet set, string path)
    {
        var events = new List<LockedEvent>();
        foreach (var definition in set.Events)
        {
            var versions = new List<LockedVersion>();
            foreach (var pair in Versions(set, definition))
            {
                versions.Add(new LockedVersion(pair.Key, pair.Value.Fingerprint, new EquatableArray<LockedField>(pair.Value.Fields), SourceSpan.None(path)));
            }
            events.Add(new LockedEvent(definition.TypeName, definition.Name, definition.Compatibility, new EquatableArray<LockedVersion>(versions), SourceSpan.None(path)));
        }
        var sagas = new List<LockedSaga>();
        foreach (var saga in set.Sagas)
        {
            sagas.Add(new LockedSaga(saga.Name, new EquatableArray<string>(SagaStates.Of(saga)),
                new EquatableArray<LockedField>(CanonicalSchema.Fields(set, saga.Data)), SourceSpan.None(path))
                { Skippable = new EquatableArray<string>(Skippable(saga)) });
        }
        return new LockFile(path, new EquatableArray<LockedEvent>(events), new EquatableArray<LockedSaga>(sagas));
    }

    private static SortedDictionary<int, CurrentVersion> Versions(DefinitionSet set, EventDefinition definition)
    {
        var result = new SortedDictionary<int, CurrentVersion>();
        foreach (var previous in definition.Previous)
        {
            if (result.ContainsKey(previous.Version)) continue;
            var fields = CanonicalSchema.Fields(set, previous.Fields);
            result[previous.Version] = new CurrentVersion(fields, CanonicalSchema.Fingerprint(fields), previous.Span);
        }
        var currentFields = CanonicalSchema.Fields(set, definition.Fields);
        result[definition.Version] = new CurrentVersion(currentFields, CanonicalSchema.Fingerprint(currentFields), definition.VersionSpan);
        return result;
    }

    /// <summary>Why <paramref name="candidate"/> breaks the event's mode against <paramref name="baseline"/>, or null.</summary>
    private static string? Incompatibility(EventDefinition definition, LockedVersion baseline, int candidateVersion, CurrentVersion candidate)
    {
        var old = new Dictionary<string, string>(System.StringComparer.Ordinal);
        foreach (var field in baseline.Fields) old[field.Name] = field.Type;
        var updated = new Dictionary<string, string>(System.StringComparer.Ordinal);
        foreach (var field in candidate.Fields) updated[field.Name] = field.Type;

        var backward = definition.Compatibility is CompatibilityMode.Backward or CompatibilityMode.BackwardTransitive or CompatibilityMode.Full;
        var forward = definition.Compatibility is CompatibilityMode.Forward or CompatibilityMode.Full;

        // The upcast of the version just below the candidate says how old data becomes new data.
        EventVersionDefinition? bridge = null;
        foreach (var previous in definition.Previous)
        {
            if (previous.Version == candidateVersion - 1) bridge = previous;
        }
        if (bridge?.Upcaster is not null) backward = false;
        var produced = new Dictionary<string, UpcastOperation>(System.StringComparer.Ordinal);
        if (bridge is not null)
        {
            foreach (var step in bridge.Upcast) produced[step.Field] = step.Operation;
        }

        if (backward)
        {
            foreach (var field in updated)
            {
                if (produced.TryGetValue(field.Key, out var operation) && operation != UpcastOperation.Remove) continue;
                if (old.TryGetValue(field.Key, out var oldType))
                {
                    if (Strip(oldType) != Strip(field.Value)) return $"'{field.Key}' changed from {oldType} to {field.Value} without a conversion";
                    if (oldType.EndsWith("?", System.StringComparison.Ordinal) && !field.Value.EndsWith("?", System.StringComparison.Ordinal))
                    {
                        return $"'{field.Key}' became required without a default";
                    }
                    continue;
                }
                if (!field.Value.EndsWith("?", System.StringComparison.Ordinal)) return $"the new required field '{field.Key}' has no default for old events";
            }
        }
        if (forward)
        {
            foreach (var field in old)
            {
                if (field.Value.EndsWith("?", System.StringComparison.Ordinal)) continue;
                if (!updated.TryGetValue(field.Key, out var newType)) return $"the required field '{field.Key}' was removed, so consumers of version {baseline.Version} cannot read new events";
                if (Strip(newType) != Strip(field.Value)) return $"'{field.Key}' changed from {field.Value} to {newType}, so consumers of version {baseline.Version} cannot read new events";
            }
        }
        return null;
    }

    private static string Strip(string type) => type.EndsWith("?", System.StringComparison.Ordinal) ? type.Substring(0, type.Length - 1) : type;

    private sealed class CurrentVersion
    {
        public CurrentVersion(List<LockedField> fields, string fingerprint, SourceSpan span)
        {
            Fields = fields;
            Fingerprint = fingerprint;
            Span = span;
        }

        public List<LockedField> Fields { get; }

        public string Fingerprint { get; }

        public SourceSpan Span { get; }
    }
}
