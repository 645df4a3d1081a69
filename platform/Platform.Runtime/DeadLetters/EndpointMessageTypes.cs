using System.Collections.Concurrent;
using MassTransit;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// The runtime's endpoints and the message types they consume, by MassTransit URN, filled as the
/// endpoints are configured: which letters this runtime replays (those of its own endpoints), and
/// how it finds the CLR type of a letter that names its type by URN (one this build's endpoints
/// did not take when it was written).
/// </summary>
public sealed class EndpointMessageTypes
{
    readonly ConcurrentDictionary<string, Type> _byUrn = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, bool> _endpoints = new(StringComparer.Ordinal);

    internal void Add(string endpoint, IEnumerable<Type> types)
    {
        _endpoints[endpoint] = true;
        foreach (var type in types)
            _byUrn.TryAdd(MessageUrn.ForTypeString(type), type);
    }

    /// <summary>Whether an endpoint of this runtime is named <paramref name="endpoint"/>.</summary>
    /// <param name="endpoint">A queue name, as a dead letter records it.</param>
    public bool Hosts(string endpoint) => _endpoints.ContainsKey(endpoint);

    /// <summary>The type a URN names, if an endpoint of this runtime consumes it.</summary>
    /// <param name="urn">A MassTransit message URN, e.g. <c>urn:message:Shop.Orders:ConfirmOrder</c>.</param>
    public Type? Find(string urn) => _byUrn.GetValueOrDefault(urn);
}
