using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Outbox;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Platform.Runtime.Commands;
using Platform.Runtime.Consumers;
using Platform.Runtime.Domains;
using Platform.Runtime.Kafka;
using Platform.Runtime.Messaging;
using Platform.Runtime.Projections;

namespace Platform.Runtime.Configuration;

/// <summary>Registers the runtime: <c>services.AddPlatform(configuration.GetSection("Platform"), cfg => ...)</c>.</summary>
public static class PlatformServiceCollectionExtensions
{
    /// <summary>Registers the runtime configured in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the store, transport, domains and consumers.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddPlatform(this IServiceCollection services, Action<PlatformOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddPlatform(null, configure);
    }

    /// <summary>
    /// Registers the runtime: the event store, the <see cref="ICommandDispatcher"/>, MassTransit on
    /// the chosen transport (command queue, event consumer queues), the outbox relay and the
    /// projection engine as hosted services. Options are bound from <paramref name="configuration"/>
    /// first (e.g. the <c>Platform</c> section), then <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The <c>Platform</c> configuration section, or null.</param>
    /// <param name="configure">Adjusts the options in code, or null.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddPlatform(this IServiceCollection services, IConfiguration? configuration,
        Action<PlatformOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new PlatformOptions();
        configuration?.Bind(options);
        configure?.Invoke(options);
        options.Validate();
        var catalog = new DomainCatalog(options.ResolveDomainTypes());

        services.AddSingleton(options);
        services.AddSingleton(catalog);
        // The generated AddXDomain() also registers descriptors; the same instance twice would make
        // the registry reject it, so duplicates by reference are dropped.
        services.TryAddSingleton(sp => new EventTypeRegistry(
            sp.GetServices<EventTypeDescriptor>().Concat(catalog.EventTypes).Distinct()));
        services.AddEventStore(store =>
        {
            _ = options.Store.Provider == StoreProvider.Postgres
                ? store.UsePostgres(options.Store.ConnectionString)
                : store.UseSqlite(options.Store.ConnectionString);
            store.ConcurrentAppends = options.Store.ConcurrentAppends;
        });
        services.TryAddSingleton<ICommandDispatcher, CommandDispatcher>();
        services.TryAddSingleton(sp => new PersonalDataEraser(sp.GetRequiredService<SqlEventStore>(), catalog, options.Store.Provider, options.Store.ConnectionString));
        services.TryAddSingleton(sp => new InboxCommitGroups(sp.GetRequiredService<SqlEventStore>(),
            options.Transport.ConsumerCommitBatchSize, options.Transport.ConsumerCommits));
        if (options.Transport.Kind == TransportKind.Kafka)
        {
            services.TryAddSingleton<KafkaTopology>();
            services.TryAddSingleton<IEventPublisher, KafkaEventPublisher>();
            services.TryAddSingleton<KafkaMessageProducer>();
            // Sends to a queue become records on its command topic (consumers' sends, replays).
            services.TryAddSingleton(sp => new KafkaSendEndpointProvider(sp.GetRequiredService<IBus>(), sp.GetRequiredService<KafkaMessageProducer>(),
                KafkaTopology.Endpoints(options, catalog).Select(e => e.Queue).ToHashSet(StringComparer.Ordinal)));
            services.TryAddSingleton<DeadLetters.IDeadLetterSink, KafkaDeadLetterSink>();
        }
        services.TryAddSingleton<IEventPublisher, MassTransitEventPublisher>();
        services.AddHostedService<PlatformStartup>();

        services.AddMassTransit(bus =>
        {
            if (!options.Telemetry.MassTransitUsageReports)
                bus.DisableUsageTelemetry();
            PlatformBus.AddConsumers(bus, options, catalog);
            Sagas.SagaRegistration.AddToBus(bus, options, catalog);
            if (options.Transport.Kind == TransportKind.RabbitMq)
            {
                bus.UsingRabbitMq((context, rabbit) =>
                {
                    rabbit.Host(new Uri(options.Transport.RabbitMqUri!));
                    // The bus's own endpoint (where responses to its requests arrive) consumes from
                    // the start. Otherwise MassTransit starts it at the first request, and every request
                    // connecting meanwhile blocks a thread-pool thread until it has: 20 requests right
                    // after start held 30 threads and nothing moved for 11 s (docs/runtime.md).
                    rabbit.AutoStart = true;
                    // MassTransit publishes to one exchange per message type; without the prefix,
                    // two runtimes with different prefixes on one broker consume each other's events.
                    rabbit.MessageTopology.SetEntityNameFormatter(
                        new PrefixEntityNameFormatter(rabbit.MessageTopology.EntityNameFormatter, options.Transport.QueuePrefix + "."));
                    PlatformBus.ConfigureEndpoints(context, rabbit, options, catalog, endpoint =>
                    {
                        if (options.Transport.AutoDeleteQueues && endpoint is IRabbitMqReceiveEndpointConfigurator queue)
                        {
                            queue.AutoDelete = true;
                            queue.Durable = false;
                            // Not exclusive to one connection, or a second instance with the same
                            // prefix could never start its bus.
                            queue.Exclusive = false;
                        }
                    });
                });
            }
            else
            {
                bus.UsingInMemory((context, memory) =>
                {
                    // On Kafka the Kafka consumers hand records to each endpoint's own mediator
                    // (KafkaConsumerService). The in-memory endpoints take what is sent to them in
                    // process (a replayed dead letter); what consumers publish leaves on Kafka, and
                    // the endpoints bind no message types, so a message comes in only from Kafka,
                    // in whichever instance it lands.
                    if (options.Transport.Kind != TransportKind.Kafka)
                    {
                        PlatformBus.ConfigureEndpoints(context, memory, options, catalog, null);
                        return;
                    }
                    memory.ConnectPublishObserver(new KafkaPublishObserver(context.GetRequiredService<KafkaMessageProducer>()));
                    PlatformBus.ConfigureEndpoints(context, memory, options, catalog, endpoint => endpoint.ConfigureConsumeTopology = false);
                });
            }
        });
        services.AddOptions<MassTransitHostOptions>().Configure(host => host.WaitUntilStarted = true);
        // Records the consumers' starts after the bus (its queues exist) and before the Kafka
        // consumers and the relay; it reads the relay's checkpoint before any service starts.
        services.TryAddSingleton<OrderedConsumers>();
        services.AddHostedService<InboxStarts>();
        if (options.Inbox.RetainFor is not null)
            services.AddHostedService<InboxCleanup>();
        if (options.Transport.Kind == TransportKind.Kafka)
            services.AddHostedService<KafkaConsumerService>();

        if (options.Relay.Enabled)
        {
            services.TryAddSingleton(sp => new OutboxRelay(sp.GetRequiredService<SqlEventStore>(),
                sp.GetRequiredService<IEventPublisher>(),
                new OutboxRelayOptions
                {
                    BatchSize = options.Relay.BatchSizeOn(options.Transport.Kind), PollInterval = options.Relay.PollInterval, PublishTimeout = options.Relay.PublishTimeout,
                },
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<OutboxRelay>()));
            services.AddHostedService<OutboxRelayService>();
        }
        services.TryAddSingleton<ReadModels>();
        services.TryAddSingleton<ProjectionConsistency>();
        if (options.Store.Provider == StoreProvider.Postgres)
            services.AddHostedService<ReplicationLagGauge>();
        if (options.Projections.Enabled)
        {
            services.TryAddSingleton<ProjectionEngine>();
            services.AddHostedService(sp => sp.GetRequiredService<ProjectionEngine>());
        }
        PlatformHealthChecks.Add(services);
        services.AddPlatformDeadLetters(options);
        Sagas.SagaRegistration.AddServices(services, options, catalog);
        services.AddPlatformTelemetry(options.Telemetry);
        return services;
    }
}
