using System.Collections.Generic;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// Everything generated from a checked definition set, in hint-name order: what
/// <c>platform generate</c> writes. The Roslyn generator produces the same sources from the same
/// emitters, file by file.
/// </summary>
public static class SetEmitter
{
    /// <param name="files">Each file's model and the text it was read from (for the header hash).</param>
    /// <param name="assemblyName">Names the registration, as the generator does from the compilation: <c>Shop.Orders</c> gives <c>OrdersDomain</c>.</param>
    /// <param name="withServiceCollection">Emit <c>services.AddXDomain()</c>; the service must reference Microsoft.Extensions.DependencyInjection.Abstractions.</param>
    /// <param name="withMassTransit">Emit <c>bus.AddXDomain()</c> for the sagas and reactions; the service must reference MassTransit.</param>
    public static IReadOnlyList<GeneratedSource> Emit(IReadOnlyList<(DefinitionFile File, string Text)> files, string assemblyName, bool withServiceCollection, bool withMassTransit)
    {
        var models = new List<DefinitionFile>();
        foreach (var (file, _) in files) models.Add(file);
        var index = TypeIndexBuilder.Build(models);
        var sources = new List<GeneratedSource>();
        foreach (var (file, text) in files)
            sources.AddRange(FileEmitter.Emit(file, SourceFile.Hash(text), index));
        if (models.Count > 0)
        {
            var registration = RegistrationEmitter.Model(assemblyName, models);
            sources.Add(RegistrationEmitter.Emit(registration, withServiceCollection, withMassTransit, SourceFile.Hash(registration.ToString())));
        }
        sources.Sort((left, right) => string.CompareOrdinal(left.HintName, right.HintName));
        return sources;
    }
}
