using Platform.Definitions.Model;

namespace Platform.Definitions.Compatibility;

/// <summary>
/// The committed record of every published event version (<c>definitions.lock.json</c>). Only
/// <c>platform lock</c> writes it; validation and the build compare the definitions against it.
/// </summary>
public sealed record LockFile(string Path, EquatableArray<LockedEvent> Events);

public sealed record LockedEvent(string TypeName, string Event, CompatibilityMode Compatibility, EquatableArray<LockedVersion> Versions, SourceSpan Span);

public sealed record LockedVersion(int Version, string Fingerprint, EquatableArray<LockedField> Fields, SourceSpan Span);

/// <summary>A field and its canonical type text, e.g. <c>items</c> and <c>list&lt;{price:decimal,productId:string}&gt;</c>.</summary>
public sealed record LockedField(string Name, string Type);
