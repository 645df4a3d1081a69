using System.Reflection;
using Platform.Events;
using Platform.Persistence;

namespace Platform.Runtime.Domains;

/// <summary>
/// One generated aggregate definition, bound once at startup to delegates so that running a
/// command needs no reflection. The generated <c>Order</c> has <c>Handle(state, version, object)</c>
/// and a static <c>StreamIdOf(object)</c>, but no interface for them (the generator would have to
/// emit one); the binding finds them by signature, and lists the aggregate's commands from its typed
/// <c>Handle(state, version, TCommand)</c> overloads.
/// </summary>
public abstract class AggregateBinding
{
    /// <summary>The aggregate type (stream type).</summary>
    public abstract string AggregateType { get; }

    /// <summary>The command types this aggregate handles.</summary>
    public abstract IReadOnlyList<Type> CommandTypes { get; }

    /// <summary>The stream id the command addresses.</summary>
    /// <param name="command">A command of this aggregate.</param>
    public abstract string StreamIdOf(object command);

    /// <summary>
    /// Loads the aggregate, runs the command, saves its events expecting the loaded version, with
    /// the ids <see cref="EventData.IdFor"/> derives from <paramref name="commandId"/>. Returns the
    /// stream version after the save and the global position of its last event (the loaded ones
    /// when the command produced no events), and whether the store found those events already
    /// stored (the command was handled before: nothing was appended).
    /// </summary>
    /// <param name="store">Where the aggregate lives.</param>
    /// <param name="streamId">The aggregate id.</param>
    /// <param name="command">The command.</param>
    /// <param name="commandId">The command's id, from which its events' ids are derived.</param>
    /// <param name="metadata">Stored with every new event.</param>
    /// <param name="expectedVersion">The version the command's sender read, if it gave one: the command runs on that version only.</param>
    /// <param name="cancellationToken">Cancels the load and save.</param>
    /// <exception cref="ConcurrencyException">Another writer saved the aggregate in between (no <paramref name="expectedVersion"/>).</exception>
    /// <exception cref="Platform.Commands.CommandVersionConflictException">
    /// The aggregate is not at <paramref name="expectedVersion"/>, or another writer saved it in between.
    /// </exception>
    /// <exception cref="DuplicateEventException">Some of the events' ids are stored, not all of them in this order.</exception>
    public abstract Task<(long Version, long Position, bool AlreadyStored)> ExecuteOnceAsync(IAggregateStore store, string streamId, object command,
        Guid commandId, EventMetadata metadata, long? expectedVersion, CancellationToken cancellationToken);

    internal static AggregateBinding Create(object definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        for (var type = definition.GetType(); type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(AggregateDefinition<>))
            {
                var bindingType = typeof(AggregateBinding<>).MakeGenericType(type.GetGenericArguments()[0]);
                return (AggregateBinding)Activator.CreateInstance(bindingType, definition)!;
            }
        }
        throw new ArgumentException($"{definition.GetType().FullName} is not an AggregateDefinition<TState>.", nameof(definition));
    }
}

/// <summary>The binding of one aggregate definition with state <typeparamref name="TState"/>.</summary>
/// <typeparam name="TState">The aggregate's state.</typeparam>
public sealed class AggregateBinding<TState> : AggregateBinding
{
    readonly AggregateDefinition<TState> _definition;
    readonly Func<TState, long, object, EventMetadata?, IReadOnlyList<object>> _handle;
    readonly Func<object, string> _streamIdOf;

    /// <summary>Binds a generated definition.</summary>
    /// <param name="definition">The generated definition (e.g. <c>Order.Definition</c>).</param>
    public AggregateBinding(AggregateDefinition<TState> definition)
    {
        _definition = definition ?? throw new ArgumentNullException(nameof(definition));
        var type = definition.GetType();
        // With the metadata the events will carry (a command's conditions may read the user), or, in
        // code generated before it had that, without.
        if (type.GetMethod("Handle", BindingFlags.Public | BindingFlags.Instance, [typeof(TState), typeof(long), typeof(object), typeof(EventMetadata?)]) is { } withMetadata)
        {
            _handle = withMetadata.CreateDelegate<Func<TState, long, object, EventMetadata?, IReadOnlyList<object>>>(definition);
        }
        else
        {
            var without = (type.GetMethod("Handle", BindingFlags.Public | BindingFlags.Instance, [typeof(TState), typeof(long), typeof(object)])
                    ?? throw Missing(type, "public IReadOnlyList<object> Handle(TState state, long version, object command, EventMetadata? metadata)"))
                .CreateDelegate<Func<TState, long, object, IReadOnlyList<object>>>(definition);
            _handle = (state, version, command, _) => without(state, version, command);
        }
        var streamIdOf = type.GetMethod("StreamIdOf", BindingFlags.Public | BindingFlags.Static, [typeof(object)])
            ?? throw Missing(type, "public static string StreamIdOf(object command)");
        _streamIdOf = streamIdOf.CreateDelegate<Func<object, string>>();
        CommandTypes = type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name == "Handle")
            .Select(m => m.GetParameters())
            .Where(p => p.Length is 3 or 4 && p[0].ParameterType == typeof(TState) && p[1].ParameterType == typeof(long)
                        && p[2].ParameterType != typeof(object) && (p.Length == 3 || p[3].ParameterType == typeof(EventMetadata?)))
            .Select(p => p[2].ParameterType)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>The bound definition.</summary>
    public AggregateDefinition<TState> Definition => _definition;

    /// <inheritdoc />
    public override string AggregateType => _definition.AggregateType;

    /// <inheritdoc />
    public override IReadOnlyList<Type> CommandTypes { get; }

    /// <inheritdoc />
    public override string StreamIdOf(object command) => _streamIdOf(command);

    /// <inheritdoc />
    public override async Task<(long Version, long Position, bool AlreadyStored)> ExecuteOnceAsync(IAggregateStore store, string streamId, object command,
        Guid commandId, EventMetadata metadata, long? expectedVersion, CancellationToken cancellationToken)
    {
        var loaded = await store.LoadAsync(_definition, streamId, cancellationToken).ConfigureAwait(false);
        if (expectedVersion is { } expected && loaded.Version != expected)
            throw new Platform.Commands.CommandVersionConflictException(command.GetType().Name, AggregateType, streamId, expected, loaded.Version);
        var events = _handle(loaded.State, loaded.Version, command, metadata);
        if (events.Count == 0)
            return (loaded.Version, loaded.Position, false);
        var data = new EventData[events.Count];
        var commandType = command.GetType().Name;
        for (var i = 0; i < events.Count; i++)
            data[i] = new EventData(EventData.IdFor(commandId, streamId, commandType, i), events[i], metadata);
        LoadedAggregate<TState> saved;
        try
        {
            saved = await store.SaveAsync(_definition, loaded, data, cancellationToken).ConfigureAwait(false);
        }
        catch (ConcurrencyException conflict) when (expectedVersion is { } sent)
        {
            // Another writer got there first: the version the sender read is stale now, and the
            // command is not judged again on the new state.
            throw new Platform.Commands.CommandVersionConflictException(command.GetType().Name, AggregateType, streamId, sent, conflict.ActualVersion);
        }
        // The store found every id stored and appended nothing (another delivery of the command got
        // there first; the version alone cannot tell, when that delivery loaded the same version).
        if (saved.AlreadyStored)
            return (saved.Version, saved.Position, true);
        PlatformTelemetry.EventsAppended.Add(data.Length, new KeyValuePair<string, object?>("aggregate", _definition.AggregateType));
        return (saved.Version, saved.Position, false);
    }

    static InvalidOperationException Missing(Type type, string signature) =>
        new($"Aggregate definition {type.FullName} has no '{signature}'; regenerate it with the current generator.");
}
