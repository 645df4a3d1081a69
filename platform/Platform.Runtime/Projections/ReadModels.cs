using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>
/// The read side: where a service reads its read models. With <c>Platform:Store:ReadReplica</c>
/// set, a PostgreSQL streaming standby, which takes the queries off the primary; otherwise the
/// store's own database. The registered <see cref="ProjectionConsistency"/> follows the same
/// database, so a wait that returned <see cref="ProjectionWait.Reached"/> holds for what is read
/// here. <c>AddPlatform</c> registers one.
/// </summary>
/// <example>
/// <code>
/// var accepted = await dispatcher.DispatchAsync(new ConfirmOrder(orderId));
/// var wait = await consistency.WaitForAsync(OrderSummaryProjection.ProjectionName, accepted, TimeSpan.FromSeconds(2));
/// await using var rows = await readModels.OpenAsync(OrderSummaryProjection.ProjectionName);
/// var summary = await rows.Set&lt;OrderSummary&gt;().SingleAsync(o =&gt; o.OrderId == orderId);
/// </code>
/// </example>
public sealed class ReadModels : IAsyncDisposable
{
    readonly StoreProvider _provider;
    readonly string _connectionString;
    readonly Dictionary<string, ProjectionBinding> _projections;

    /// <summary>Creates the read side of the runtime's options; <c>AddPlatform</c> registers one.</summary>
    /// <param name="catalog">The loaded domains: the projections that can be read.</param>
    /// <param name="options">The runtime's options (<c>Platform:Store</c>).</param>
    /// <param name="store">The store: its event types, for the replica's checkpoint reads.</param>
    /// <param name="loggerFactory">Logs of the replica's store.</param>
    public ReadModels(DomainCatalog catalog, PlatformOptions options, SqlEventStore store, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        _provider = options.Store.Provider;
        _projections = catalog.Projections.ToDictionary(p => p.Name, StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(options.Store.ReadReplica))
        {
            _connectionString = options.Store.ConnectionString;
            return;
        }
        if (_provider != StoreProvider.Postgres)
            throw new InvalidOperationException(PlatformOptions.ReadReplicaOnSqlite);
        _connectionString = options.Store.ReadReplica;
        Replica = new SqlEventStore(new EventStoreOptions().UsePostgres(_connectionString), store.Registry, loggerFactory);
    }

    /// <summary>True when read models are read from <c>Platform:Store:ReadReplica</c>, not from the store.</summary>
    public bool OnReplica => Replica is not null;

    /// <summary>The standby, read through the store's queries (its checkpoints); null when none is set.</summary>
    internal SqlEventStore? Replica { get; }

    /// <summary>
    /// A no-tracking EF Core context on <paramref name="projection"/>'s table (its generated row
    /// type: <c>context.Set&lt;OrderSummary&gt;()</c>), on a connection of its own to the read
    /// database. Dispose it after the query.
    /// </summary>
    /// <param name="projection">The projection's name, as in the YAML (e.g. <c>OrderSummary</c>).</param>
    /// <param name="cancellationToken">Cancels opening the connection.</param>
    /// <exception cref="ArgumentException">No loaded projection has that name.</exception>
    public async Task<ProjectionDbContext> OpenAsync(string projection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(projection);
        if (!_projections.TryGetValue(projection, out var binding))
            throw new ArgumentException($"No loaded projection is named '{projection}'; loaded: {string.Join(", ", _projections.Keys.Order(StringComparer.Ordinal))}.",
                nameof(projection));
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var context = ProjectionDbContext.Create(_provider, connection, binding, tableName: null, ownsConnection: true);
        context.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.NoTracking;
        return context;
    }

    /// <summary>An open connection to the read database, for queries written in SQL. Dispose it after use.</summary>
    /// <param name="cancellationToken">Cancels opening it.</param>
    public Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        Sql.OpenAsync(_provider, _connectionString, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Replica?.DisposeAsync() ?? ValueTask.CompletedTask;
}
