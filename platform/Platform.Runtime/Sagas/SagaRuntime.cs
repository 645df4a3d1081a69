using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Runtime.Configuration;
using Platform.Runtime.DeadLetters;
using Platform.Runtime.Domains;
using Platform.Runtime.Scheduling;

namespace Platform.Runtime.Sagas;

/// <summary>A generated saga as the runtime hosts it.</summary>
/// <param name="Name">The saga's name: the state machine's type name without <c>StateMachine</c>.</param>
/// <param name="StateMachine">The generated state machine type.</param>
/// <param name="State">The generated state class.</param>
/// <param name="Queue">Its receive endpoint.</param>
/// <param name="Address">The endpoint's address (timeouts are sent there).</param>
public sealed record SagaBinding(string Name, Type StateMachine, Type State, string Queue, Uri Address);

/// <summary>A generated reaction as the runtime hosts it.</summary>
/// <param name="Name">The reaction's name (its type name).</param>
/// <param name="Consumer">The generated consumer type.</param>
/// <param name="Queue">Its receive endpoint.</param>
public sealed record ReactionBinding(string Name, Type Consumer, string Queue);

/// <summary>
/// What the saga repositories, the reaction filter and the scheduler share: the loaded sagas and
/// reactions, the routes of the commands they send, the schema of their tables, and delivery of a
/// step's messages after its commit.
/// </summary>
public sealed class SagaRuntime
{
    readonly Dictionary<Type, SagaBinding> _byState;
    readonly IServiceProvider _services;
    readonly ILogger _logger;
    readonly SchemaOnce _schema;

    /// <summary>Created by the container.</summary>
    public SagaRuntime(PlatformOptions options, DomainCatalog catalog, MessageRoutes routes, ScheduledMessageStore scheduled,
        IServiceProvider services, ILoggerFactory loggerFactory)
    {
        Options = options;
        Routes = routes;
        Scheduled = scheduled;
        _services = services;
        _logger = loggerFactory.CreateLogger("Platform.Runtime.Sagas");
        Sagas = Bind(options, catalog);
        Reactions = BindReactions(options, catalog);
        _byState = Sagas.ToDictionary(s => s.State);
        _schema = new SchemaOnce(CreateSchemaAsync);
    }

    /// <summary>The runtime's options.</summary>
    public PlatformOptions Options { get; }

    /// <summary>Where sent commands go.</summary>
    public MessageRoutes Routes { get; }

    /// <summary>The scheduled-message table.</summary>
    public ScheduledMessageStore Scheduled { get; }

    /// <summary>The loaded sagas.</summary>
    public IReadOnlyList<SagaBinding> Sagas { get; }

    /// <summary>The loaded reactions.</summary>
    public IReadOnlyList<ReactionBinding> Reactions { get; }

    internal SagaBinding BindingFor(Type stateType) => _byState.TryGetValue(stateType, out var binding)
        ? binding
        : throw new InvalidOperationException($"{stateType.FullName} is not the state of a saga of a loaded domain.");

    /// <summary>The sagas of the loaded domains, with their queues.</summary>
    /// <param name="options">The runtime's options.</param>
    /// <param name="catalog">The loaded domains.</param>
    public static IReadOnlyList<SagaBinding> Bind(PlatformOptions options, DomainCatalog catalog) => catalog.Sagas
        .Select(s =>
        {
            var name = NameOf(s.StateMachine);
            var queue = options.Transport.QueuePrefix + "-saga-" + name.ToLowerInvariant();
            return new SagaBinding(name, s.StateMachine, s.State, queue, RetryPipeline.EndpointAddress(options, queue));
        })
        .ToArray();

    /// <summary>A saga's name (<c>saga_instances.saga_name</c>): its generated state machine's type name without <c>StateMachine</c>.</summary>
    /// <param name="stateMachine">The generated state machine type.</param>
    public static string NameOf(Type stateMachine) => stateMachine.Name.EndsWith("StateMachine", StringComparison.Ordinal)
        ? stateMachine.Name[..^"StateMachine".Length]
        : stateMachine.Name;

    /// <summary>The reactions of the loaded domains, with their queues.</summary>
    /// <param name="options">The runtime's options.</param>
    /// <param name="catalog">The loaded domains.</param>
    public static IReadOnlyList<ReactionBinding> BindReactions(PlatformOptions options, DomainCatalog catalog) => catalog.Reactions
        .Select(r => new ReactionBinding(r.Name, r, options.Transport.QueuePrefix + "-reaction-" + r.Name.ToLowerInvariant()))
        .ToArray();

    /// <summary>Creates the saga and scheduled-message tables when missing (once per process).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task EnsureSchemaAsync(CancellationToken cancellationToken) => _schema.EnsureAsync(cancellationToken);

    /// <summary>
    /// The unresolved stored instances whose state the loaded state machine does not have (a state
    /// removed or renamed by a later build): no message moves them. The lock refuses such a change at
    /// build time (PLT0807); this finds what got past it, e.g. a project without a lock file.
    /// </summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<(string Saga, string State, long Count)>> FindStrandedAsync(CancellationToken cancellationToken)
    {
        var stranded = new List<(string, string, long)>();
        if (Sagas.Count == 0)
            return stranded;
        await using var connection = await Sql.OpenAsync(Options.Store.Provider, Options.Store.ConnectionString, cancellationToken).ConfigureAwait(false);
        foreach (var saga in Sagas)
        {
            if (_services.GetService(saga.StateMachine) is not StateMachine machine)
                continue;
            var known = machine.States.Select(state => state.Name).ToHashSet(StringComparer.Ordinal);
            await using var command = Sql.Command(connection, null,
                "SELECT current_state, COUNT(*) FROM saga_instances WHERE saga_name = @name AND resolved_at IS NULL GROUP BY current_state ORDER BY current_state");
            Sql.Add(command, "name", saga.Name);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                if (!known.Contains(reader.GetString(0)))
                    stranded.Add((saga.Name, reader.GetString(0), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
        }
        return stranded;
    }

    async Task CreateSchemaAsync()
    {
        await Scheduled.EnsureSchemaAsync().ConfigureAwait(false);
        await SagaTables.CreateAsync(Options.Store.Provider, Options.Store.ConnectionString, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Delivers a committed step's outbox messages and deletes their rows. A failure is logged and
    /// left to the poller, which delivers the rows once <see cref="PlatformSagaOptions.LeftoverDelay"/> has passed.
    /// </summary>
    /// <param name="messages">The step's outbox messages.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    public async Task DeliverAfterCommitAsync(IReadOnlyList<ScheduledMessageRow> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
            return;
        var delivery = _services.GetRequiredService<MessageDelivery>();
        var delivered = new List<Guid>(messages.Count);
        try
        {
            foreach (var message in messages)
            {
                await delivery.DeliverAsync(message, cancellationToken).ConfigureAwait(false);
                delivered.Add(message.Id);
            }
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Delivering {Count} outbox messages after their commit failed; the scheduler delivers them after {Delay}",
                messages.Count - delivered.Count, Options.Sagas.LeftoverDelay);
        }
        SagaTelemetry.MessagesDelivered.Add(delivered.Count);
        try
        {
            await Scheduled.DeleteAsync(delivered, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // Delivered but still stored: the poller sends them again with the same message ids,
            // which the receivers' inboxes recognise.
            _logger.LogWarning(exception, "Removing {Count} delivered outbox messages failed", delivered.Count);
        }
    }
}
