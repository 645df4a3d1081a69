using System.Collections.Generic;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// Everything generated from one definition file. Shared by the Roslyn generator and
/// <c>platform generate</c>, so both write the same bytes.
/// </summary>
public static class FileEmitter
{
    /// <summary>Generates the sources of <paramref name="file"/>; <paramref name="set"/> resolves names in other files.</summary>
    public static IReadOnlyList<GeneratedSource> Emit(DefinitionFile file, string text, IReadOnlyList<DefinitionFile> set) =>
        Emit(file, SourceFile.Hash(text), TypeIndexBuilder.Build(set));

    internal static IReadOnlyList<GeneratedSource> Emit(DefinitionFile file, string hash, TypeIndex index)
    {
        var source = System.IO.Path.GetFileName(file.Path);
        var output = new List<GeneratedSource>();
        void Add(string ns, string name, string text) => output.Add(new GeneratedSource(HintName(ns, name), text));

        foreach (var type in file.Types)
            Add(type.Namespace, type.Name, TypesEmitter.ValueType(type, source, hash, index));
        foreach (var type in file.Enums)
        {
            var members = new List<string>();
            foreach (var member in type.Members) members.Add(member.Name);
            Add(type.Namespace, type.Name, TypesEmitter.Enum(type.Name, type.Namespace, members, source, hash));
        }

        var inlineEnums = new Dictionary<string, TypeRef>();
        foreach (var fields in FieldLists(file))
            TypesEmitter.CollectInlineEnums(fields, inlineEnums);
        var enumNames = new List<string>(inlineEnums.Keys);
        enumNames.Sort(System.StringComparer.Ordinal);
        foreach (var name in enumNames)
            Add(file.Namespace, name, TypesEmitter.Enum(name, file.Namespace, inlineEnums[name].EnumMembers, source, hash));

        var id = file.Aggregate?.Id;
        foreach (var e in file.Events)
            Add(e.Namespace, e.Name, EventEmitter.Emit(e, source, hash, index));
        foreach (var command in file.Commands)
            Add(command.Namespace, command.Name, CommandEmitter.Emit(command, id, source, hash, index));
        if (file.Aggregate is { } aggregate)
            Add(aggregate.Namespace, aggregate.Name, AggregateEmitter.Emit(aggregate, source, hash, index));
        if (file.Projection is { } projection)
            Add(projection.Namespace, projection.Name, ProjectionEmitter.Emit(projection, source, hash, index));
        if (file.Saga is { } saga)
            Add(saga.Namespace, saga.Name, SagaEmitter.Emit(saga, source, hash, index));
        foreach (var reaction in file.Reactions)
            Add(reaction.Namespace, reaction.Name, ReactionEmitter.Emit(reaction, source, hash, index));
        return output;
    }

    /// <summary>Hint names are unique per definition: namespace and name, both checked identifiers.</summary>
    static string HintName(string ns, string name) => (ns.Length == 0 ? name : ns + "." + name) + ".g.cs";

    static IEnumerable<EquatableArray<FieldDefinition>> FieldLists(DefinitionFile file)
    {
        foreach (var type in file.Types) yield return type.Fields;
        if (file.Aggregate is { } aggregate) yield return aggregate.State;
        foreach (var e in file.Events)
        {
            yield return e.Fields;
            foreach (var previous in e.Previous) yield return previous.Fields;
        }
        foreach (var command in file.Commands) yield return command.Fields;
        if (file.Projection is { } projection) yield return projection.Fields;
        if (file.Saga is { } saga) yield return saga.Data;
    }
}
