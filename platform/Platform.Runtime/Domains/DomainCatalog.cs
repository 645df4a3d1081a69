using System.Reflection;
using Platform.Events;

namespace Platform.Runtime.Domains;

/// <summary>
/// The generated domains the runtime loaded: every event descriptor, aggregate (by command type)
/// and projection. Built once at registration from the generated <c>XDomain</c> classes' static
/// <c>EventTypes</c>, <c>Aggregates</c> and <c>Projections</c> lists.
/// </summary>
public sealed class DomainCatalog
{
    readonly Dictionary<Type, AggregateBinding> _byCommand = [];

    /// <summary>Builds the catalog.</summary>
    /// <param name="domainTypes">Generated domain classes, e.g. <c>typeof(OrdersDomain)</c>.</param>
    /// <param name="projectionInstances">Projection instances already created (from DI), by type; others are created here.</param>
    public DomainCatalog(IEnumerable<Type> domainTypes, IReadOnlyDictionary<Type, object>? projectionInstances = null)
    {
        var eventTypes = new List<EventTypeDescriptor>();
        var aggregates = new List<AggregateBinding>();
        var projections = new List<ProjectionBinding>();
        var sagas = new List<(Type StateMachine, Type State)>();
        var reactions = new List<Type>();
        var personalMessages = new Dictionary<string, IReadOnlyList<PersonalField>>(StringComparer.Ordinal);
        foreach (var domain in domainTypes)
        {
            // Sagas and reactions are optional: a domain generated before they were listed has neither.
            if (ReadOptional<IReadOnlyList<(Type StateMachine, Type State)>>(domain, "Sagas") is { } domainSagas)
                sagas.AddRange(domainSagas);
            if (ReadOptional<IReadOnlyList<Type>>(domain, "Reactions") is { } domainReactions)
                reactions.AddRange(domainReactions);
            // Optional too: a domain generated before erasure knew the commands' copies has none.
            if (ReadOptional<IReadOnlyDictionary<string, IReadOnlyList<PersonalField>>>(domain, "PersonalMessageFields") is { } domainPersonal)
                foreach (var (message, fields) in domainPersonal)
                    personalMessages[message] = personalMessages.TryGetValue(message, out var known) ? [.. known.Union(fields)] : fields;
            eventTypes.AddRange(Read<IReadOnlyList<EventTypeDescriptor>>(domain, "EventTypes"));
            foreach (var definition in Read<IReadOnlyList<object>>(domain, "Aggregates"))
            {
                var binding = AggregateBinding.Create(definition);
                aggregates.Add(binding);
                foreach (var command in binding.CommandTypes)
                {
                    if (!_byCommand.TryAdd(command, binding))
                        throw new InvalidOperationException($"Command {command.FullName} is handled by two aggregates.");
                }
            }
            foreach (var projection in Read<IReadOnlyList<Type>>(domain, "Projections"))
            {
                object? instance = null;
                projectionInstances?.TryGetValue(projection, out instance);
                projections.Add(ProjectionBinding.Create(projection, instance));
            }
        }
        EventTypes = eventTypes;
        Aggregates = aggregates;
        Projections = projections;
        Sagas = sagas;
        Reactions = reactions;
        PersonalMessageFields = personalMessages;
    }

    /// <summary>
    /// The fields of the commands the loaded sagas and reactions send that carry personal data, by
    /// the command's full type name: what an erasure overwrites in the copies kept of what was sent.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<PersonalField>> PersonalMessageFields { get; }

    /// <summary>Every saga of the loaded domains: the generated state machine and its state class.</summary>
    public IReadOnlyList<(Type StateMachine, Type State)> Sagas { get; }

    /// <summary>Every generated reaction consumer of the loaded domains.</summary>
    public IReadOnlyList<Type> Reactions { get; }

    /// <summary>Every event descriptor of the loaded domains.</summary>
    public IReadOnlyList<EventTypeDescriptor> EventTypes { get; }

    /// <summary>Every aggregate of the loaded domains.</summary>
    public IReadOnlyList<AggregateBinding> Aggregates { get; }

    /// <summary>Every projection of the loaded domains.</summary>
    public IReadOnlyList<ProjectionBinding> Projections { get; }

    /// <summary>Every command type some loaded aggregate handles.</summary>
    public IEnumerable<Type> CommandTypes => _byCommand.Keys.OrderBy(t => t.FullName, StringComparer.Ordinal);

    /// <summary>The aggregate that handles <paramref name="commandType"/>.</summary>
    /// <param name="commandType">The command's type.</param>
    public AggregateBinding GetAggregateFor(Type commandType) =>
        _byCommand.TryGetValue(commandType, out var binding)
            ? binding
            : throw new InvalidOperationException(
                $"No loaded aggregate handles {commandType.FullName}; add its domain with cfg.AddDomain(typeof(XDomain)).");

    static T? ReadOptional<T>(Type domain, string property) where T : class =>
        domain.GetProperty(property, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as T;

    static T Read<T>(Type domain, string property) where T : class =>
        domain.GetProperty(property, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as T
        ?? throw new InvalidOperationException(
            $"{domain.FullName} is not a generated domain class: it has no public static {property} of type {typeof(T).Name}.");
}
