using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>The saga-and-reaction part of <c>AddPlatform</c>.</summary>
static class SagaRegistration
{
    /// <summary>The repository, scheduler and routes; the poller as a hosted service (after the bus).</summary>
    public static void AddServices(IServiceCollection services, PlatformOptions options, DomainCatalog catalog)
    {
        options.Sagas.Validate();
        if (!options.Sagas.Enabled)
            return;
        services.TryAddSingleton(new ScheduledMessageStore(options.Store.Provider, options.Store.ConnectionString));
        services.TryAddSingleton(sp => new MessageRoutes(options, catalog));
        services.TryAddSingleton<SagaRuntime>();
        services.TryAddSingleton<MessageDelivery>();
        services.AddHostedService<ScheduledMessageService>();
        services.AddHostedService<SagaGauges>();
    }

    /// <summary>Every saga state machine (on the platform's repository) and reaction consumer of the loaded domains.</summary>
    public static void AddToBus(IBusRegistrationConfigurator bus, PlatformOptions options, DomainCatalog catalog)
    {
        if (!options.Sagas.Enabled)
            return;
        bus.SetSagaRepositoryProvider(new PlatformSagaRepositoryProvider());
        foreach (var saga in catalog.Sagas)
            bus.AddSagaStateMachine(saga.StateMachine, null);
        foreach (var reaction in catalog.Reactions)
            bus.AddConsumer(reaction);
    }

    /// <summary>One receive endpoint per saga, per reaction and per message consumer, with the runtime's retries and dead letters.</summary>
    public static IEnumerable<PlatformEndpoint> Endpoints(IBusRegistrationContext context, PlatformOptions options, DomainCatalog catalog,
        Action<IReceiveEndpointConfigurator>? transportSpecific)
    {
        if (!options.Sagas.Enabled)
            yield break;
        foreach (var saga in SagaRuntime.Bind(options, catalog))
        {
            yield return new PlatformEndpoint(saga.Queue, endpoint =>
            {
                transportSpecific?.Invoke(endpoint);
                RetryPipeline.UseRetriesAndDeadLetters(endpoint, context, options, "saga:" + saga.Name, saga.Queue, SagaMessageTypes(saga.StateMachine));
                endpoint.PrefetchCount = options.Sagas.PrefetchCount;
                endpoint.ConcurrentMessageLimit = ConcurrentMessages(options);
                endpoint.ConfigureSaga(context, saga.State);
            });
        }
        foreach (var reaction in SagaRuntime.BindReactions(options, catalog))
        {
            yield return new PlatformEndpoint(reaction.Queue, endpoint =>
            {
                transportSpecific?.Invoke(endpoint);
                RetryPipeline.UseRetriesAndDeadLetters(endpoint, context, options, "reaction:" + reaction.Name, reaction.Queue,
                    RetryPipeline.ConsumedTypes(reaction.Consumer));
                // A message-pipe filter, inside the retries (which are pre-pipe): each attempt is its
                // own transaction, so a failed attempt's sends and publishes are rolled back with it.
                endpoint.UseFilter(new InboxOutboxFilter(
                    context.GetRequiredService<SqlEventStore>(), context.GetRequiredService<SagaRuntime>(), "reaction:" + reaction.Name, context));
                endpoint.PrefetchCount = options.Sagas.PrefetchCount;
                endpoint.ConcurrentMessageLimit = ConcurrentMessages(options);
                endpoint.ConfigureConsumer(context, reaction.Consumer);
            });
        }
        // A service's own consumers of commands and published messages: a reaction's guarantees, its own queue.
        foreach (var consumer in options.MessageConsumers)
        {
            var queue = options.EventQueueName(consumer);
            yield return new PlatformEndpoint(queue, endpoint =>
            {
                transportSpecific?.Invoke(endpoint);
                RetryPipeline.UseRetriesAndDeadLetters(endpoint, context, options, consumer.FullName!, queue, RetryPipeline.ConsumedTypes(consumer));
                endpoint.UseFilter(new InboxOutboxFilter(
                    context.GetRequiredService<SqlEventStore>(), context.GetRequiredService<SagaRuntime>(), "consumer:" + consumer.Name, context));
                endpoint.PrefetchCount = options.Sagas.PrefetchCount;
                endpoint.ConcurrentMessageLimit = ConcurrentMessages(options);
                endpoint.ConfigureConsumer(context, consumer);
            });
        }
    }

    /// <summary>
    /// How many messages one endpoint handles at once: <c>Sagas:PrefetchCount</c>, but one on SQLite.
    /// Each message's transaction takes the database's single write turn (<c>SqliteWriteGate</c>), so
    /// more at once only queue for it: the Orders demo took 10.9-12.0 s for 1,000 orders with 16 per
    /// endpoint and 9.9-10.2 s with one.
    /// </summary>
    static int ConcurrentMessages(PlatformOptions options) =>
        options.Store.Provider == StoreProvider.Sqlite ? 1 : options.Sagas.PrefetchCount;

    /// <summary>The message types a state machine consumes: its events and its timeouts.</summary>
    public static IEnumerable<Type> SagaMessageTypes(Type stateMachine) => stateMachine.GetProperties()
        .Select(p => p.PropertyType)
        .Where(t => t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(Event<>) || t.GetGenericTypeDefinition() == typeof(Schedule<,>)))
        .Select(t => t.GetGenericArguments()[^1])
        .Distinct();


    /// <summary>Puts every saga state machine on <see cref="PlatformSagaRepository{TSaga}"/>.</summary>
    sealed class PlatformSagaRepositoryProvider : ISagaRepositoryRegistrationProvider
    {
        public void Configure<TSaga>(ISagaRegistrationConfigurator<TSaga> configurator) where TSaga : class, ISaga =>
            configurator.Repository(repository => RegisterGeneric(repository, typeof(TSaga)));

        static void RegisterGeneric(IServiceCollection repository, Type saga) =>
            typeof(PlatformSagaRepositoryProvider).GetMethod(nameof(Register), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(saga).Invoke(null, [repository]);

        static void Register<TSaga>(IServiceCollection repository) where TSaga : class, SagaStateMachineInstance =>
            repository.RegisterSagaRepository<TSaga, SagaRuntime, SagaConsumeContextFactory<SagaRuntime, TSaga>, PlatformSagaRepository<TSaga>>();
    }
}
