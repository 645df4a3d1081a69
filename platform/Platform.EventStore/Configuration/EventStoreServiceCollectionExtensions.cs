using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Storage;
using Platform.Events;
using Platform.Persistence;

namespace Platform.EventStore.Configuration;

/// <summary>Registers the event store in a service collection.</summary>
public static class EventStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="SqlEventStore"/> as <see cref="IEventStore"/> and <see cref="IAggregateStore"/>.
    /// The <see cref="EventTypeRegistry"/> is built from every registered <see cref="EventTypeDescriptor"/>
    /// (the generated domain registrations add them) unless one is registered already.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Chooses the database, e.g. <c>o => o.UsePostgres(cs)</c> or <c>o => o.UseSqlite("Data Source=events.db")</c>.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddEventStore(this IServiceCollection services, Action<EventStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new EventStoreOptions();
        configure(options);
        options.Validate();

        services.AddSingleton(options);
        services.TryAddSingleton(sp => new EventTypeRegistry(sp.GetServices<EventTypeDescriptor>()));
        services.TryAddSingleton(sp => new SqlEventStore(
            options, sp.GetRequiredService<EventTypeRegistry>(), sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton<IEventStore>(sp => sp.GetRequiredService<SqlEventStore>());
        services.TryAddSingleton<IAggregateStore>(sp => sp.GetRequiredService<SqlEventStore>());
        return services;
    }
}
