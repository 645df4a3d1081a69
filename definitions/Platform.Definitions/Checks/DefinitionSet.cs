using System;
using System.Collections.Generic;
using System.Threading;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>
/// All definition files of one service, checked together so references across files resolve
/// (a saga using another file's events, a service consuming another team's integration events).
/// Names of types, events, commands and definitions are global to the set.
/// </summary>
public sealed record DefinitionSet(EquatableArray<DefinitionFile> Files)
{
    /// <summary>Runs every check over the files (in path order, so results do not depend on input order).</summary>
    public static Result<DefinitionSet> Check(IEnumerable<DefinitionFile> files, CancellationToken cancellationToken = default)
    {
        var ordered = new List<DefinitionFile>(files);
        ordered.Sort((left, right) => string.CompareOrdinal(left.Path, right.Path));
        var set = new DefinitionSet(new EquatableArray<DefinitionFile>(ordered));
        var context = new CheckContext(set);

        NameChecks.Run(context);
        cancellationToken.ThrowIfCancellationRequested();
        TypeChecks.Run(context);
        cancellationToken.ThrowIfCancellationRequested();
        EventChecks.Run(context);
        cancellationToken.ThrowIfCancellationRequested();
        ProjectionChecks.Run(context);
        SagaChecks.Run(context);
        ReactionChecks.Run(context);

        return new Result<DefinitionSet>(set, new EquatableArray<DiagnosticInfo>(context.SortedDiagnostics()));
    }

    public IEnumerable<AggregateDefinition> Aggregates
    {
        get
        {
            foreach (var file in Files)
            {
                if (file.Aggregate is not null) yield return file.Aggregate;
            }
        }
    }

    public IEnumerable<ProjectionDefinition> Projections
    {
        get
        {
            foreach (var file in Files)
            {
                if (file.Projection is not null) yield return file.Projection;
            }
        }
    }

    public IEnumerable<SagaDefinition> Sagas
    {
        get
        {
            foreach (var file in Files)
            {
                if (file.Saga is not null) yield return file.Saga;
            }
        }
    }

    public IEnumerable<ReactionDefinition> Reactions
    {
        get
        {
            foreach (var file in Files)
            {
                foreach (var reaction in file.Reactions) yield return reaction;
            }
        }
    }

    public IEnumerable<EventDefinition> Events
    {
        get
        {
            foreach (var file in Files)
            {
                foreach (var definition in file.Events) yield return definition;
            }
        }
    }

    public IEnumerable<CommandDefinition> Commands
    {
        get
        {
            foreach (var file in Files)
            {
                foreach (var definition in file.Commands) yield return definition;
            }
        }
    }

    public IEnumerable<ValueTypeDefinition> ValueTypes
    {
        get
        {
            foreach (var file in Files)
            {
                foreach (var definition in file.Types) yield return definition;
            }
        }
    }

    public IEnumerable<EnumTypeDefinition> Enums
    {
        get
        {
            foreach (var file in Files)
            {
                foreach (var definition in file.Enums) yield return definition;
            }
        }
    }

    public EventDefinition? FindEvent(string name) => Find(Events, name, e => e.Name, e => e.Namespace);

    public CommandDefinition? FindCommand(string name) => Find(Commands, name, c => c.Name, c => c.Namespace);

    public AggregateDefinition? FindAggregate(string name) => Find(Aggregates, name, a => a.Name, a => a.Namespace);

    public ValueTypeDefinition? FindValueType(string name) => Find(ValueTypes, name, t => t.Name, t => t.Namespace);

    public EnumTypeDefinition? FindEnum(string name) => Find(Enums, name, t => t.Name, t => t.Namespace);

    /// <summary>
    /// The fields a message carries, including the aggregate id that every command and event of an
    /// aggregate has implicitly (it travels in the envelope, e.g. <c>orderId</c> of <c>OrderPlaced</c>).
    /// </summary>
    public IReadOnlyList<FieldDefinition> FieldsOf(EventDefinition definition) => WithAggregateId(definition.Fields, definition.Aggregate);

    public IReadOnlyList<FieldDefinition> FieldsOf(CommandDefinition definition) => WithAggregateId(definition.Fields, definition.Aggregate);

    private IReadOnlyList<FieldDefinition> WithAggregateId(EquatableArray<FieldDefinition> fields, string? aggregateName)
    {
        var result = new List<FieldDefinition>(fields.Count + 1);
        var aggregate = aggregateName is null ? null : FindAggregate(aggregateName);
        if (aggregate is not null && !Contains(fields, aggregate.Id.Name))
        {
            result.Add(new FieldDefinition(aggregate.Id.Name, aggregate.Id.Type, null, null, aggregate.Id.Span));
        }
        result.AddRange(fields);
        return new FieldScope(result);
    }

    private static bool Contains(EquatableArray<FieldDefinition> fields, string name)
    {
        foreach (var field in fields)
        {
            if (field.Name == name) return true;
        }
        return false;
    }

    /// <summary>Matches the plain name, or the namespace-qualified one (<c>Shop.Orders.OrderItem</c>).</summary>
    private static T? Find<T>(IEnumerable<T> items, string name, Func<T, string> nameOf, Func<T, string> namespaceOf)
        where T : class
    {
        foreach (var item in items)
        {
            var itemName = nameOf(item);
            if (itemName == name) return item;
            var ns = namespaceOf(item);
            if (name.Length == ns.Length + 1 + itemName.Length && name.StartsWith(ns, StringComparison.Ordinal)
                && name[ns.Length] == '.' && name.EndsWith(itemName, StringComparison.Ordinal))
            {
                return item;
            }
        }
        return null;
    }
}
