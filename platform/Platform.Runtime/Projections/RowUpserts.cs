using System.Runtime.CompilerServices;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;

namespace Platform.Runtime.Projections;

/// <summary>
/// Saves a projection batch's row changes on PostgreSQL with one statement per kind of change
/// instead of EF Core's one per row: the added and modified rows in one
/// <c>INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (key) DO UPDATE</c>, the deleted ones in one
/// <c>DELETE ... WHERE key = ANY(keys)</c>. EF Core's <c>SaveChanges</c> built, per row, its
/// command and SQL text: a third of a rebuild's CPU. The values go through the same type
/// mappings and converters as EF Core's, and each array is cast to its column's store type.
/// A model it does not cover (a composite key, navigations, owned or complex types, list columns,
/// concurrency tokens, generated values, shadow properties, other entity types tracked) returns false, and the
/// caller saves with EF Core as before; so does SQLite, which has no arrays.
/// </summary>
static class RowUpserts
{
    // Per model (a shadow table's model goes away with it).
    static readonly ConditionalWeakTable<IEntityType, StrongBox<Plan?>> Plans = new();

    /// <summary>Writes the tracked changes and accepts them; false (nothing written) when the model is not one this covers.</summary>
    public static async Task<bool> TrySaveAsync(ProjectionDbContext db, DbConnection connection, DbTransaction transaction,
        CancellationToken cancellationToken)
    {
        if (connection is not NpgsqlConnection || db.Model.FindEntityType(db.Projection.EntityType) is not { } entityType
            || Plans.GetValue(entityType, type => new StrongBox<Plan?>(Plan.For(type))).Value is not { } plan)
            return false;
        var upserts = new List<EntityEntry>();
        var deletes = new List<EntityEntry>();
        foreach (var entry in db.ChangeTracker.Entries()) // detects changes first
        {
            if (entry.Metadata != entityType)
                return false;
            if (entry.State is EntityState.Added or EntityState.Modified)
                upserts.Add(entry);
            else if (entry.State == EntityState.Deleted)
                deletes.Add(entry);
        }
        if (deletes.Count > 0)
            await ExecuteAsync(connection, transaction, plan.DeleteSql, [plan.Key.Parameter("keys", deletes)], cancellationToken).ConfigureAwait(false);
        if (upserts.Count > 0)
            await ExecuteAsync(connection, transaction, plan.UpsertSql,
                plan.Columns.Select((column, i) => column.Parameter("c" + i, upserts)).ToArray(), cancellationToken).ConfigureAwait(false);
        db.ChangeTracker.AcceptAllChanges();
        return true;
    }

    static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, NpgsqlParameter[] parameters,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One column: its property, store type and the provider values' array type.</summary>
    sealed record Column(IProperty Property, string Name, string StoreType, Type ElementType)
    {
        // The rows' values of this column as a typed array (through the property's converter).
        public NpgsqlParameter Parameter(string name, List<EntityEntry> entries)
        {
            var converter = Property.GetTypeMapping().Converter;
            var values = Array.CreateInstance(ElementType, entries.Count);
            for (var i = 0; i < entries.Count; i++)
            {
                var value = entries[i].Property(Property.Name).CurrentValue;
                values.SetValue(value is not null && converter is not null ? converter.ConvertToProvider(value) : value, i);
            }
            return new NpgsqlParameter(name, values);
        }
    }

    sealed class Plan
    {
        Plan(Column key, Column[] columns, string upsertSql, string deleteSql)
        {
            Key = key;
            Columns = columns;
            UpsertSql = upsertSql;
            DeleteSql = deleteSql;
        }

        public Column Key { get; }

        public Column[] Columns { get; }

        public string UpsertSql { get; }

        public string DeleteSql { get; }

        public static Plan? For(IEntityType entityType)
        {
            if (entityType.FindPrimaryKey() is not { Properties: [var keyProperty] } || entityType.GetTableName() is not { } table
                || entityType.GetNavigations().Any() || entityType.GetSkipNavigations().Any() || entityType.GetComplexProperties().Any()
                || entityType.IsOwned() || entityType.GetDerivedTypes().Any() || entityType.BaseType is not null)
                return null;
            var storeObject = StoreObjectIdentifier.Table(table, entityType.GetSchema());
            var columns = new List<Column>();
            foreach (var property in entityType.GetProperties())
            {
                // A list column is an array column (uuid[]): its rows' values would be an array of
                // arrays, which Npgsql does not write and unnest would flatten.
                if (property.IsConcurrencyToken || property.IsShadowProperty() || property.ValueGenerated != ValueGenerated.Never
                    || property.IsPrimitiveCollection
                    || property.GetColumnName(storeObject) is not { } name || property.GetRelationalTypeMapping() is not { } mapping)
                    return null;
                var provider = mapping.Converter?.ProviderClrType ?? property.ClrType;
                // Nullable value types stay nullable (int?[]); a reference type array holds nulls.
                var element = provider.IsValueType && property.IsNullable && Nullable.GetUnderlyingType(provider) is null
                    ? typeof(Nullable<>).MakeGenericType(provider)
                    : provider;
                columns.Add(new Column(property, name, mapping.StoreType, element));
            }
            var key = columns.Single(c => c.Property == keyProperty);
            var target = Quote(table, entityType.GetSchema());
            var names = string.Join(", ", columns.Select(c => Quote(c.Name)));
            var arrays = string.Join(", ", columns.Select((c, i) => $"@c{i}::{c.StoreType}[]"));
            var updates = string.Join(", ", columns.Where(c => c != key).Select(c => $"{Quote(c.Name)} = excluded.{Quote(c.Name)}"));
            var upsert = $"INSERT INTO {target} ({names}) SELECT * FROM unnest({arrays}) ON CONFLICT ({Quote(key.Name)}) " +
                         (updates.Length == 0 ? "DO NOTHING" : "DO UPDATE SET " + updates);
            var delete = $"DELETE FROM {target} WHERE {Quote(key.Name)} = ANY(@keys::{key.StoreType}[])";
            return new Plan(key, [.. columns], upsert, delete);
        }

        static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

        static string Quote(string table, string? schema) => schema is null ? Quote(table) : Quote(schema) + "." + Quote(table);
    }
}
