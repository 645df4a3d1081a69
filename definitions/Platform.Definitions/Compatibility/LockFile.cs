using Platform.Definitions.Model;

namespace Platform.Definitions.Compatibility;

/// <summary>
/// The committed record of every published event version and of every saga's states and data
/// (<c>definitions.lock.json</c>). Only <c>platform lock</c> writes it; validation and the build
/// compare the definitions against it. <see cref="Sagas"/> is null in a lock file written before
/// sagas were locked: their checks start with the next <c>platform lock</c>.
/// </summary>
public sealed record LockFile(string Path, EquatableArray<LockedEvent> Events, EquatableArray<LockedSaga>? Sagas = null);

/// <summary>A deployed saga: the states its stored instances can be in, and the fields of their data.</summary>
public sealed record LockedSaga(string Saga, EquatableArray<string> States, EquatableArray<LockedField> Data, SourceSpan Span)
{
    /// <summary>The steps stored instances may have skipped (<c>when:</c>, or a handler that moves past them); written only when there are some.</summary>
    public EquatableArray<string> Skippable { get; init; }
}

public sealed record LockedEvent(string TypeName, string Event, CompatibilityMode Compatibility, EquatableArray<LockedVersion> Versions, SourceSpan Span);

public sealed record LockedVersion(int Version, string Fingerprint, EquatableArray<LockedField> Fields, SourceSpan Span);

/// <summary>A field and its canonical type text, e.g. <c>items</c> and <c>list&lt;{price:decimal,productId:string}&gt;</c>.</summary>
public sealed record LockedField(string Name, string Type);
