using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Numerics;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Metadata;
using Platform.Events;

namespace Platform.Runtime.Projections;

/// <summary>
/// Loads the rows a batch of events will touch with one query, instead of one query per event.
/// The generated handler looks its row up with <c>FindAsync(key)</c>; when a row was written by
/// an earlier batch (a stream's events far apart in the store, the usual case) that cost one
/// database round trip per event, most of a replay's time.
///
/// The generated code does not say how it derives a row's key from an event, so the runner asks
/// it: events are run through the handler on a throwaway context whose every lookup is answered
/// "no row" without touching the database, and the keys of those lookups are kept. An event type
/// whose lookups kept matching the event's stream id (<see cref="ObservationsToTrust"/> times, none
/// differing) is not asked again: its key is taken from the stream id. The keys are loaded in one
/// <c>IN (...)</c> query into the real context (tracked, so the handler's <c>FindAsync</c> finds them
/// without a query), and the real run's lookups of keys that query did not find are answered "no
/// row" without a query too. A lookup of any other key goes to the database as before, so a
/// wrong guess costs a round trip, never a wrong row. Nothing of the throwaway run is saved, but
/// the handler runs in it: a hand-written <c>OnApplied</c> must not have effects outside its row.
/// A composite key, or a lookup that is not a single-key <c>FindAsync</c>, turns the prefetch off
/// for the batch, which then runs as before.
/// </summary>
sealed class RowPrefetch
{
    /// <summary>Lookups of an event type that must have matched its stream id before the stream id is trusted as its key.</summary>
    public const int ObservationsToTrust = 16;

    // Per context: what its lookups should do. A ProjectionDbContext without one runs normally.
    internal enum Mode { Discover, SkipAbsent }

    internal sealed class State(Mode mode, Dictionary<object, DbParameter> keys)
    {
        public Mode Mode { get; } = mode;

        // Discover: the provider values of the keys to load, with a parameter carrying each.
        public Dictionary<object, DbParameter> Keys { get; } = keys;

        // Discover: the key of the last lookup that reached the database side.
        public object? LastLookup { get; set; }

        // SkipAbsent: keys the prefetch looked for and did not find, as provider values.
        public HashSet<object> Absent { get; } = [];

        // SkipAbsent: the table's key, whose values Absent holds converted to the provider's.
        public IProperty? KeyProperty { get; init; }

        public bool Unsupported { get; set; }

        // A key of the key property's type the handler asks about before FindAsync.
        public bool IsKnownAbsent(object key) =>
            Mode == Mode.SkipAbsent && KeyProperty is { } property && Absent.Count > 0 && Absent.Contains(ToProvider(property, key));

        // An entity the context began to track (added by the handler, or loaded): its key is no
        // longer absent, and FindAsync will find it tracked.
        public void Forget(EntityEntry entry)
        {
            if (Mode == Mode.SkipAbsent && KeyProperty is { } property && Absent.Count > 0 && entry.Metadata.ClrType == property.DeclaringType.ClrType
                && entry.Property(property.Name).CurrentValue is { } key)
                Absent.Remove(ToProvider(property, key));
        }
    }

    static object ToProvider(IProperty keyProperty, object key) =>
        keyProperty.GetTypeMapping().Converter is { } converter ? converter.ConvertToProvider(key) ?? key : key;

    /// <summary>The interceptor every <see cref="ProjectionDbContext"/> carries; it acts only when the context has a state.</summary>
    internal static readonly DbCommandInterceptor Interceptor = new LookupInterceptor();

    static readonly ConcurrentDictionary<Type, Func<DbContext, string, DbParameter[], CancellationToken, Task>> Loaders = new();

    static readonly MethodInfo LoadMethod = typeof(RowPrefetch).GetMethod(nameof(LoadAsync), BindingFlags.NonPublic | BindingFlags.Static)!;

    // Per event type: lookups that matched the stream id so far, or -1 once one did not.
    readonly Dictionary<string, int> _streamKeyed = new(StringComparer.Ordinal);

    // A parameter of a real lookup, cloned to carry keys taken from stream ids.
    DbParameter? _template;

    /// <summary>
    /// Finds the keys the batch's events will look up, loads those rows into <paramref name="db"/>,
    /// and makes <paramref name="db"/> answer lookups of the keys not found without a query.
    /// Returns false (and leaves <paramref name="db"/> as it was) when the table's key or the
    /// handler's lookups are not ones it understands.
    /// </summary>
    public async Task<bool> PrepareAsync(ProjectionDbContext db, Func<ProjectionDbContext> createContext,
        DbTransaction transaction, IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken)
    {
        var entityType = db.Model.FindEntityType(db.Projection.EntityType);
        var key = entityType?.FindPrimaryKey();
        if (entityType is null || key is null || key.Properties.Count != 1 || entityType.GetTableName() is not { } table)
            return false;
        var keyProperty = key.Properties[0];

        var keys = new Dictionary<object, DbParameter>();
        var ask = new List<EventEnvelope>();
        foreach (var envelope in events)
        {
            if (!TakeStreamKey(envelope, keyProperty, keys))
                ask.Add(envelope);
        }

        if (ask.Count > 0 && !await DiscoverAsync(db, createContext, transaction, ask, keyProperty, keys, cancellationToken).ConfigureAwait(false))
            return false;

        var absent = new State(Mode.SkipAbsent, keys) { KeyProperty = keyProperty };
        foreach (var wanted in keys.Keys)
            absent.Absent.Add(wanted);
        if (keys.Count > 0)
        {
            var column = keyProperty.GetColumnName(StoreObjectIdentifier.Table(table, entityType.GetSchema()))!;
            // EF Core compiles and caches a query per SQL text: padding the key list to a power of
            // two (repeating the last key) keeps that to a dozen shapes instead of one per batch.
            var parameters = keys.Values.ToList();
            var last = parameters[^1];
            for (var size = (int)BitOperations.RoundUpToPowerOf2((uint)parameters.Count); parameters.Count < size;)
                parameters.Add(CloneParameter(last, parameters.Count, last.Value!));
            var names = string.Join(", ", parameters.Select(p => "@" + p.ParameterName));
            var sql = $"SELECT * FROM {Quote(table)} WHERE {Quote(column)} IN ({names})";
            var loader = Loaders.GetOrAdd(db.Projection.EntityType, type =>
                LoadMethod.MakeGenericMethod(type).CreateDelegate<Func<DbContext, string, DbParameter[], CancellationToken, Task>>());
            await loader(db, sql, [.. parameters], cancellationToken).ConfigureAwait(false);
            foreach (var entry in db.ChangeTracker.Entries())
                absent.Forget(entry);
        }
        db.Prefetch = absent;
        return true;
    }

    // Runs the events through the handler on a throwaway context, collecting the keys it looks up
    // and learning which event types look up their stream id.
    async Task<bool> DiscoverAsync(ProjectionDbContext db, Func<ProjectionDbContext> createContext, DbTransaction transaction,
        List<EventEnvelope> events, IProperty keyProperty, Dictionary<object, DbParameter> keys, CancellationToken cancellationToken)
    {
        var discovery = new State(Mode.Discover, keys);
        await using var probe = createContext();
        probe.Prefetch = discovery;
        await probe.Database.UseTransactionAsync(transaction, cancellationToken).ConfigureAwait(false);
        foreach (var envelope in events)
        {
            // Trusted during this discovery (the first batch asks about every event): no need to ask.
            if (TakeStreamKey(envelope, keyProperty, keys))
                continue;
            discovery.LastLookup = null;
            try
            {
                await db.Projection.ApplyAsync(probe, envelope, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                return false; // the real run fails on the same event and names it
            }
            if (discovery.Unsupported)
                return false;
            if (discovery.LastLookup is { } looked)
            {
                _template ??= keys[looked];
                var seen = _streamKeyed.GetValueOrDefault(envelope.TypeName);
                if (seen >= 0)
                    _streamKeyed[envelope.TypeName] = looked.Equals(StreamKey(envelope, keyProperty)) ? seen + 1 : -1;
            }
        }
        return true;
    }

    // Adds the event's stream id as the key it looks up when its type is trusted to look that up.
    bool TakeStreamKey(EventEnvelope envelope, IProperty keyProperty, Dictionary<object, DbParameter> keys)
    {
        if (_template is null || _streamKeyed.GetValueOrDefault(envelope.TypeName) < ObservationsToTrust
            || StreamKey(envelope, keyProperty) is not { } derived)
            return false;
        if (!keys.ContainsKey(derived))
            keys.Add(derived, CloneParameter(_template, keys.Count, derived));
        return true;
    }

    // The stream id as the key's provider value, when the key is a Guid or a string.
    static object? StreamKey(EventEnvelope envelope, IProperty keyProperty)
    {
        object? value = keyProperty.ClrType == typeof(Guid) ? Guid.TryParse(envelope.StreamId, out var id) ? id : null
            : keyProperty.ClrType == typeof(string) ? envelope.StreamId
            : null;
        return value is not null && keyProperty.GetTypeMapping().Converter is { } converter ? converter.ConvertToProvider(value) : value;
    }

    static Task LoadAsync<T>(DbContext db, string sql, DbParameter[] parameters, CancellationToken cancellationToken) where T : class =>
        db.Set<T>().FromSqlRaw(sql, parameters).ToListAsync(cancellationToken);

    // A parameter of the same provider and type as the one a lookup used, carrying a key, named
    // k{index}. Npgsql's parameters clone themselves; Microsoft.Data.Sqlite's do not, and a Guid
    // must keep the SqliteType EF Core gave it (text, as EF Core stores Guids on SQLite).
    static DbParameter CloneParameter(DbParameter source, int index, object value)
    {
        var copy = source switch
        {
            ICloneable cloneable => (DbParameter)cloneable.Clone(),
            SqliteParameter sqlite => new SqliteParameter { DbType = sqlite.DbType, SqliteType = sqlite.SqliteType }, // not Size: set to 0 it cuts text to nothing
            _ => throw new NotSupportedException($"Cannot copy a {source.GetType().Name} for the row prefetch."),
        };
        copy.ParameterName = "k" + index.ToString(CultureInfo.InvariantCulture);
        copy.Value = value;
        return copy;
    }

    static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    sealed class LookupInterceptor : DbCommandInterceptor
    {
        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result) => Intercept(command, eventData, result);

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Intercept(command, eventData, result));

        static InterceptionResult<DbDataReader> Intercept(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        {
            if (eventData.Context is not ProjectionDbContext { Prefetch: { } state })
                return result;
            if (command.Parameters.Count != 1 || command.Parameters[0].Value is not { } value || value is DBNull)
            {
                // Not a single-key lookup: the discovery cannot tell what it needs.
                if (state.Mode != Mode.Discover)
                    return result;
                state.Unsupported = true;
                return InterceptionResult<DbDataReader>.SuppressWithResult(Empty());
            }
            if (state.Mode == Mode.Discover)
            {
                if (!state.Keys.ContainsKey(value))
                    state.Keys.Add(value, CloneParameter(command.Parameters[0], state.Keys.Count, value));
                state.LastLookup = value;
                return InterceptionResult<DbDataReader>.SuppressWithResult(Empty());
            }
            return state.Absent.Contains(value) ? InterceptionResult<DbDataReader>.SuppressWithResult(Empty()) : result;
        }

        static DbDataReader Empty() => new DataTable().CreateDataReader();
    }
}
