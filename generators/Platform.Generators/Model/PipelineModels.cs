using Platform.Definitions;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Generators.Emit;

namespace Platform.Generators.Model;

/// <summary>One YAML file after parsing: its model (or null), its diagnostics, and the hash of its text.</summary>
internal sealed record ParsedDefinition(string Path, string InputHash, DefinitionFile? File, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>The cross-file result: diagnostics of the set, whether anything is an error, and the index for emitting.</summary>
internal sealed record CheckedSet(bool HasErrors, EquatableArray<DiagnosticInfo> Diagnostics, TypeIndex Index, string InputHash);

/// <summary>The sources of one file, or none when the set has errors.</summary>
internal sealed record EmittedDefinition(EquatableArray<GeneratedSource> Sources, EquatableArray<DiagnosticInfo> Failures);

/// <summary>The compatibility lock file's text, as the compiler sees it.</summary>
internal sealed record LockText(string Path, string Text);
