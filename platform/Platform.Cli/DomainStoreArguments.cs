using System.CommandLine;
using System.Reflection;
using Platform.Events;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Domains;

namespace Platform.Cli;

/// <summary>
/// The store options plus <c>--domain</c> for commands that read events: the service's built
/// assembly (e.g. <c>examples/Orders/bin/Release/net10.0/Shop.Orders.dll</c>) or a generated
/// domain's assembly-qualified type name (default <c>Platform__Domains__0</c>, as for the runtime),
/// which gives the event types the store decodes and the projections.
/// </summary>
internal sealed class DomainStoreArguments
{
    public StoreArguments Store { get; } = new();

    public Option<string?> Domain { get; } = new("--domain")
    {
        Description = "The service's assembly (path to its .dll) or a generated domain's assembly-qualified type name (default: Platform__Domains__0).",
    };

    public void AddTo(Command command)
    {
        Store.AddTo(command);
        command.Options.Add(Domain);
    }

    /// <summary>The domain <paramref name="domain"/> names, or null after an <c>error:</c> line saying what to pass.</summary>
    public static DomainCatalog? TryLoad(string domain, TextWriter error)
    {
        try
        {
            return new DomainCatalog(DomainLoader.Load(domain));
        }
        catch (Exception exception) when (exception is IOException or BadImageFormatException or InvalidOperationException or ReflectionTypeLoadException)
        {
            error.WriteLine($"error: cannot load the domain '{domain}' ({StoreArguments.OneLine(exception.Message)}); pass the built service's .dll or 'Namespace.XDomain, Assembly'.");
            return null;
        }
    }

    /// <summary>
    /// Opens the store with the domain's event types and runs <paramref name="action"/>; every
    /// problem (no store, no domain, an unreachable or unmigrated database, an event this domain
    /// cannot read) becomes one <c>error:</c> line and exit code 1.
    /// </summary>
    public async Task<int> RunAsync(ParseResult parse, Func<SqlEventStore, DomainCatalog, TextWriter, Task<int>> action)
    {
        var error = parse.InvocationConfiguration.Error;
        if (!Store.TryResolve(parse, error, out var provider, out var connectionString))
            return 1;
        var domain = parse.GetValue(Domain) ?? Environment.GetEnvironmentVariable("Platform__Domains__0");
        if (string.IsNullOrWhiteSpace(domain))
        {
            error.WriteLine("error: no domain; pass --domain path/to/Service.dll (the built service) or set Platform__Domains__0 as for the runtime.");
            return 1;
        }
        if (TryLoad(domain, error) is not { } catalog)
            return 1;
        // Readers here only look: OnBadEvent stays Throw, so an unreadable event is reported, never dead-lettered.
        var storeOptions = StoreArguments.EventStoreOptions(provider, connectionString);
        try
        {
            await using var store = new SqlEventStore(storeOptions, new EventTypeRegistry(catalog.EventTypes));
            return await action(store, catalog, parse.InvocationConfiguration.Output);
        }
        catch (EventDeserializationException exception)
        {
            error.WriteLine($"error: {StoreArguments.OneLine(exception.Message)}; pass the --domain of the build that wrote it.");
            return 1;
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException or ArgumentException)
        {
            error.WriteLine($"error: the store could not be used ({StoreArguments.OneLine(exception.Message)}); check --store and --connection, and that the runtime has migrated it.");
            return 1;
        }
    }
}
