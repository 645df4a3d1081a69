using System.Reflection;
using MassTransit;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Scheduling;

/// <summary>
/// Where the commands that sagas and reactions send go. Generated code sends by convention
/// (<c>EndpointConvention</c>), which is one static table per process; several runtimes in one
/// process (tests, a service hosting two) would overwrite each other's addresses. So the runtime
/// maps each command type to a logical address <c>platform-route:{type}</c> that is the same for
/// every runtime, and resolves it when the step stores the message: the runtime's command queue
/// for the commands of loaded aggregates, else the address given with
/// <see cref="PlatformSagaOptions.Route{TCommand}"/>, else by convention the queue
/// <c>{QueuePrefix}-{command type name, lower case}</c> (e.g. <c>platform-chargepayment</c>), where
/// the service that handles it listens.
/// </summary>
public sealed class MessageRoutes
{
    /// <summary>The scheme of the logical addresses.</summary>
    public const string Scheme = "platform-route";

    static readonly MethodInfo MapMethod = typeof(EndpointConvention).GetMethods(BindingFlags.Public | BindingFlags.Static)
        .Single(m => m.Name == nameof(EndpointConvention.Map) && m.IsGenericMethodDefinition && m.GetParameters() is [{ ParameterType: var p }] && p == typeof(Uri));
    static readonly Lock MapLock = new();

    readonly Dictionary<string, Uri> _routes = new(StringComparer.Ordinal);
    readonly Func<Type, Uri> _byConvention;

    /// <summary>Builds the table and maps the logical addresses in <see cref="EndpointConvention"/>.</summary>
    /// <param name="options">The runtime's options (command address, saga routes).</param>
    /// <param name="catalog">The loaded domains.</param>
    public MessageRoutes(PlatformOptions options, DomainCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        _byConvention = type => DeadLetters.RetryPipeline.EndpointAddress(options, options.Transport.QueuePrefix + "-" + type.Name.ToLowerInvariant());
        foreach (var command in catalog.CommandTypes)
            _routes[command.FullName!] = options.CommandAddress;
        foreach (var (type, address) in options.Sagas.Routes)
            _routes[type.FullName!] = address;
        foreach (var type in catalog.CommandTypes.Concat(options.Sagas.Routes.Keys).Distinct())
            MapLogical(type);
    }

    /// <summary>The logical address of a message type.</summary>
    /// <param name="messageType">The message type.</param>
    public static Uri LogicalAddress(Type messageType) => new(Scheme + ":" + messageType.FullName);

    internal Uri Resolve(Uri destination, Type messageType)
    {
        if (!string.Equals(destination.Scheme, Scheme, StringComparison.OrdinalIgnoreCase))
            return destination;
        return _routes.TryGetValue(destination.AbsolutePath, out var address) ? address : _byConvention(messageType);
    }

    internal Uri? Self { get; init; }

    internal Uri ResolveScheduled(Uri destination, ConsumeContext consumed, Type messageType) =>
        consumed.ReceiveContext.InputAddress == destination && Self is not null ? Self : Resolve(destination, messageType);

    internal MessageRoutes WithSelf(Uri self) => new(_routes, _byConvention, self);

    MessageRoutes(Dictionary<string, Uri> routes, Func<Type, Uri> byConvention, Uri self)
    {
        _routes = routes;
        _byConvention = byConvention;
        Self = self;
    }

    static void MapLogical(Type type)
    {
        var logical = LogicalAddress(type);
        lock (MapLock)
        {
            // A type mapped by the application to a real address keeps it; the step stores that address.
            if (EndpointConvention.TryGetDestinationAddress(type, out _))
                return;
            MapMethod.MakeGenericMethod(type).Invoke(null, [logical]);
        }
    }
}
