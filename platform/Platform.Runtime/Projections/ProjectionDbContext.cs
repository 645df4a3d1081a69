using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Platform.Projections;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Projections;

/// <summary>
/// An EF Core context whose model is one projection's table (the generated
/// <c>IEntityTypeConfiguration</c>, optionally mapped to a shadow table), opened on the event
/// store's connection so the projection's rows and its checkpoint commit in one transaction.
/// </summary>
public sealed class ProjectionDbContext : DbContext, IKnownAbsentRows
{
    ProjectionDbContext(DbContextOptions<ProjectionDbContext> options, ProjectionBinding projection, string tableName)
        : base(options)
    {
        Projection = projection;
        TableName = tableName;
        // A row added while a batch is prefetched is no longer absent.
        ChangeTracker.Tracked += (_, tracked) => Prefetch?.Forget(tracked.Entry);
    }

    /// <summary>The projection whose table this context maps.</summary>
    public ProjectionBinding Projection { get; }

    /// <summary>The table mapped (the generated default or a shadow table).</summary>
    public string TableName { get; }

    /// <summary>How this context's row lookups are answered while a batch is prefetched (<see cref="RowPrefetch"/>); null: normally.</summary>
    internal RowPrefetch.State? Prefetch { get; set; }

    /// <inheritdoc />
    public bool IsKnownAbsent(object key) => Prefetch?.IsKnownAbsent(key) ?? false;

    /// <summary>A context on an open connection of the store's database.</summary>
    /// <param name="provider">The database kind.</param>
    /// <param name="connection">The open connection (the caller keeps ownership).</param>
    /// <param name="projection">The projection.</param>
    /// <param name="tableName">The table to map; the generated default when null.</param>
    public static ProjectionDbContext Create(StoreProvider provider, DbConnection connection, ProjectionBinding projection,
        string? tableName = null) => Create(provider, connection, projection, tableName, ownsConnection: false);

    internal static ProjectionDbContext Create(StoreProvider provider, DbConnection connection, ProjectionBinding projection,
        string? tableName, bool ownsConnection)
    {
        var builder = new DbContextOptionsBuilder<ProjectionDbContext>();
        _ = provider == StoreProvider.Postgres ? builder.UseNpgsql(connection, ownsConnection) : builder.UseSqlite(connection, ownsConnection);
        builder.ReplaceService<IModelCacheKeyFactory, ProjectionModelCacheKeyFactory>();
        builder.AddInterceptors(RowPrefetch.Interceptor);
        var context = new ProjectionDbContext(builder.Options, projection, tableName ?? projection.DefaultTableName);
        // The context always saves inside the caller's transaction, which a failed save rolls
        // back whole: the savepoint EF Core would set around each save is two wasted round trips.
        context.Database.AutoSavepointsEnabled = false;
        return context;
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        Projection.Configure(modelBuilder, TableName == Projection.DefaultTableName ? null : TableName);
        // The generated code writes and reads these columns as JSON text; PostgreSQL keeps them as
        // jsonb, which queries and indexes can reach into.
        if (Database.IsNpgsql())
            foreach (var entity in modelBuilder.Model.GetEntityTypes())
                foreach (var property in entity.GetProperties())
                    if (property.FindAnnotation(JsonColumn.Annotation)?.Value is true)
                        property.SetColumnType("jsonb");
    }

    // EF Core caches one model per context type; these contexts differ by projection and table.
    sealed class ProjectionModelCacheKeyFactory : IModelCacheKeyFactory
    {
        public object Create(DbContext context, bool designTime) =>
            context is ProjectionDbContext projection
                ? (projection.Projection.Name, projection.TableName, designTime)
                : (object)(context.GetType(), designTime);
    }
}
