using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Platform.Events;

namespace Platform.Runtime.Domains;

/// <summary>
/// One generated projection bound once at startup: its name, the events it reads, its
/// <c>ApplyAsync(DbContext, EventEnvelope, CancellationToken)</c> as a delegate, and its table's
/// <c>IEntityTypeConfiguration</c>. The generator emits the configuration beside the projection as
/// <c>{Name}Configuration</c> but does not link the two; the binding finds it by that convention.
/// </summary>
public sealed class ProjectionBinding
{
    readonly Func<DbContext, EventEnvelope, CancellationToken, ValueTask<bool>> _apply;
    readonly Type _configurationType;
    readonly MethodInfo _applyConfiguration;
    readonly PropertyInfo? _tableName;

    ProjectionBinding(string name, IReadOnlyList<string> eventTypes, object projection,
        Func<DbContext, EventEnvelope, CancellationToken, ValueTask<bool>> apply, Type configurationType, Type entityType,
        string? definitionFingerprint, IReadOnlyList<string>? personalEventTypes = null)
    {
        Name = name;
        PersonalEventTypes = personalEventTypes ?? [];
        DefinitionFingerprint = definitionFingerprint;
        EventTypes = eventTypes;
        Projection = projection;
        _apply = apply;
        _configurationType = configurationType;
        EntityType = entityType;
        _tableName = configurationType.GetProperty("TableName", BindingFlags.Public | BindingFlags.Instance);
        DefaultTableName = _tableName?.GetValue(Activator.CreateInstance(configurationType)) as string ?? name;
        _applyConfiguration = typeof(ModelBuilder).GetMethods()
            .Single(m => m.Name == nameof(ModelBuilder.ApplyConfiguration) && m.GetParameters()[0].ParameterType.IsGenericType
                         && m.GetParameters()[0].ParameterType.GetGenericTypeDefinition() == typeof(IEntityTypeConfiguration<>))
            .MakeGenericMethod(entityType);
    }

    /// <summary>The projection's name (its checkpoint is <c>projection:{Name}</c>).</summary>
    public string Name { get; }

    /// <summary>The stored type names of the events it reads.</summary>
    public IReadOnlyList<string> EventTypes { get; }

    /// <summary>
    /// The stored type names of the events whose personal fields it copies (<c>PersonalEventTypes</c>):
    /// after a stream with one is erased, its read model holds the data until rebuilt. Empty for a
    /// projection that copies none, or generated before personal data was declared.
    /// </summary>
    public IReadOnlyList<string> PersonalEventTypes { get; }

    /// <summary>The generated projection instance.</summary>
    public object Projection { get; }

    /// <summary>The row type of its read model.</summary>
    public Type EntityType { get; }

    /// <summary>The table the generated configuration maps by default.</summary>
    public string DefaultTableName { get; }

    /// <summary>
    /// The generated declaration's fingerprint (<c>DefinitionFingerprint</c>), stored with the read
    /// model; the runtime rebuilds the table when the stored one differs. Null for code generated
    /// before fingerprints, which is never rebuilt by itself.
    /// </summary>
    public string? DefinitionFingerprint { get; }

    /// <summary>The same projection with another fingerprint: what another build of it would declare (tests).</summary>
    /// <param name="fingerprint">The fingerprint.</param>
    internal ProjectionBinding WithFingerprint(string? fingerprint) =>
        new(Name, EventTypes, Projection, _apply, _configurationType, EntityType, fingerprint, PersonalEventTypes);

    /// <summary>The checkpoint row of this projection in <c>subscription_checkpoints</c>.</summary>
    public string CheckpointName => CheckpointNameOf(Name);

    /// <summary>The checkpoint row of the projection named <paramref name="projection"/>.</summary>
    /// <param name="projection">The projection's name.</param>
    public static string CheckpointNameOf(string projection) => "projection:" + projection;

    /// <summary>Applies one event in the caller's unit of work; true when a row changed.</summary>
    /// <param name="db">A context whose model includes this projection's table.</param>
    /// <param name="envelope">The stored event.</param>
    /// <param name="cancellationToken">Cancels the lookups.</param>
    public ValueTask<bool> ApplyAsync(DbContext db, EventEnvelope envelope, CancellationToken cancellationToken) =>
        _apply(db, envelope, cancellationToken);

    /// <summary>Maps the projection's table (or a shadow table named <paramref name="tableName"/>) into a model.</summary>
    /// <param name="modelBuilder">The model being built.</param>
    /// <param name="tableName">The table name; the generated default when null.</param>
    public void Configure(ModelBuilder modelBuilder, string? tableName)
    {
        var configuration = Activator.CreateInstance(_configurationType)!;
        if (tableName is not null)
        {
            if (_tableName is null)
                throw new InvalidOperationException($"{_configurationType.FullName} has no TableName to map a shadow table with.");
            _tableName.SetValue(configuration, tableName);
        }
        _applyConfiguration.Invoke(modelBuilder, [configuration]);
    }

    internal static ProjectionBinding Create(Type projectionType, object? instance)
    {
        var name = projectionType.GetField("ProjectionName", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string
            ?? throw Missing(projectionType, "public const string ProjectionName");
        var eventTypes = projectionType.GetProperty("EventTypes", BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
            as IReadOnlyList<string> ?? throw Missing(projectionType, "public static IReadOnlyList<string> EventTypes");
        instance ??= Activator.CreateInstance(projectionType)
            ?? throw Missing(projectionType, "a public parameterless constructor");
        var method = projectionType.GetMethod("ApplyAsync", BindingFlags.Public | BindingFlags.Instance,
                [typeof(DbContext), typeof(EventEnvelope), typeof(CancellationToken)])
            ?? throw Missing(projectionType, "public ValueTask<bool> ApplyAsync(DbContext, EventEnvelope, CancellationToken)");
        var apply = method.CreateDelegate<Func<DbContext, EventEnvelope, CancellationToken, ValueTask<bool>>>(instance);

        var configurationName = projectionType.FullName!.EndsWith("Projection", StringComparison.Ordinal)
            ? projectionType.FullName[..^"Projection".Length] + "Configuration"
            : projectionType.FullName + "Configuration";
        var configurationType = projectionType.Assembly.GetType(configurationName)
            ?? throw Missing(projectionType, $"a table configuration '{configurationName}'");
        var entityType = configurationType.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEntityTypeConfiguration<>))
            .Select(i => i.GetGenericArguments()[0])
            .SingleOrDefault() ?? throw Missing(configurationType, "IEntityTypeConfiguration<TRow>");
        var fingerprint = projectionType.GetField("DefinitionFingerprint", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string;
        var personal = projectionType.GetProperty("PersonalEventTypes", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as IReadOnlyList<string>;
        return new ProjectionBinding(name, eventTypes, instance, apply, configurationType, entityType, fingerprint, personal);
    }

    static InvalidOperationException Missing(Type type, string what) =>
        new($"Projection {type.FullName} has no {what}; regenerate it with the current generator.");
}
