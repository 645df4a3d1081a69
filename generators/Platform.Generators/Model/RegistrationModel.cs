using Platform.Definitions;

namespace Platform.Generators.Model;

/// <summary>What the registration of a set needs: fully qualified names only, no positions.</summary>
internal sealed record RegistrationModel(
    string Domain,
    string Namespace,
    EquatableArray<string> EventTypes,
    EquatableArray<string> Aggregates,
    EquatableArray<string> Projections,
    EquatableArray<string> Sagas,
    EquatableArray<string> Reactions,
    EquatableArray<string> PersonalMessages = default);
