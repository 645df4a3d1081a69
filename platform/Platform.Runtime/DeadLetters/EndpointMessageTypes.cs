using System.Collections.Concurrent;
using MassTransit;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// The message types the runtime's endpoints consume, by MassTransit URN, filled as the endpoints are
/// configured: how a replay finds the CLR type of a letter that names its type by URN (one this
/// build's endpoints did not take when it was written).
/// </summary>
public sealed class EndpointMessageTypes
{
    readonly ConcurrentDictionary<string, Type> _byUrn = new(StringComparer.Ordinal);

    internal void Add(IEnumerable<Type> types)
    {
        foreach (var type in types)
            _byUrn.TryAdd(MessageUrn.ForTypeString(type), type);
    }

    /// <summary>The type a URN names, if an endpoint of this runtime consumes it.</summary>
    /// <param name="urn">A MassTransit message URN, e.g. <c>urn:message:Shop.Orders:ConfirmOrder</c>.</param>
    public Type? Find(string urn) => _byUrn.GetValueOrDefault(urn);
}
