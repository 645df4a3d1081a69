using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Platform.Events;

/// <summary>
/// The event types this build knows, found by stored type name (when reading) or by CLR type
/// (when appending). Built once at start-up from the generated registrations, then read-only and
/// safe to share between threads.
/// </summary>
public sealed class EventTypeRegistry
{
    readonly FrozenDictionary<string, EventTypeDescriptor> _byName;
    readonly FrozenDictionary<Type, EventTypeDescriptor> _byType;

    /// <summary>Builds a registry; a type name or CLR type registered twice is an error.</summary>
    /// <param name="descriptors">One descriptor per event type.</param>
    /// <exception cref="ArgumentException">Two descriptors share a type name or a CLR type.</exception>
    public EventTypeRegistry(IEnumerable<EventTypeDescriptor> descriptors)
    {
        ArgumentNullException.ThrowIfNull(descriptors);
        var byName = new Dictionary<string, EventTypeDescriptor>(StringComparer.Ordinal);
        var byType = new Dictionary<Type, EventTypeDescriptor>();
        foreach (var descriptor in descriptors)
        {
            if (!byName.TryAdd(descriptor.TypeName, descriptor))
                throw new ArgumentException($"Event type name '{descriptor.TypeName}' is registered twice.", nameof(descriptors));
            if (!byType.TryAdd(descriptor.ClrType, descriptor))
                throw new ArgumentException($"CLR type '{descriptor.ClrType.FullName}' is registered twice.", nameof(descriptors));
        }
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
        _byType = byType.ToFrozenDictionary();
    }

    /// <summary>Builds a registry from descriptors listed inline.</summary>
    /// <param name="descriptors">One descriptor per event type.</param>
    public static EventTypeRegistry Create(params EventTypeDescriptor[] descriptors) => new(descriptors);

    /// <summary>Every registered descriptor.</summary>
    public IEnumerable<EventTypeDescriptor> Descriptors => _byName.Values;

    /// <summary>Finds the descriptor for a stored type name.</summary>
    /// <param name="typeName">The stored type name.</param>
    /// <param name="descriptor">The descriptor, when found.</param>
    /// <returns>False when this build does not know the type (e.g. written by a newer version).</returns>
    public bool TryGet(string typeName, [NotNullWhen(true)] out EventTypeDescriptor? descriptor) =>
        _byName.TryGetValue(typeName, out descriptor);

    /// <summary>Finds the descriptor whose current version is <paramref name="clrType"/>.</summary>
    /// <param name="clrType">A CLR type, e.g. a message type an endpoint consumes.</param>
    /// <param name="descriptor">The descriptor, when the type is a registered event type.</param>
    public bool TryGet(Type clrType, [NotNullWhen(true)] out EventTypeDescriptor? descriptor) =>
        _byType.TryGetValue(clrType, out descriptor);

    /// <summary>Finds the descriptor for the CLR type of an event about to be appended.</summary>
    /// <param name="clrType">The event's runtime type.</param>
    /// <exception cref="InvalidOperationException">The type is not registered.</exception>
    public EventTypeDescriptor Get(Type clrType) =>
        _byType.TryGetValue(clrType, out var descriptor)
            ? descriptor
            : throw new InvalidOperationException(
                $"Event type '{clrType.FullName}' is not registered; add its descriptor to the EventTypeRegistry.");
}
