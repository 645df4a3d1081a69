using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Platform.EventStore.Schema;

// Used only by `dotnet ef migrations add` (see docs/event-store.md); the connection strings are
// never opened, the tools only need the provider to build the model.
sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresEventStoreDbContext>
{
    public PostgresEventStoreDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresEventStoreDbContext>().UseNpgsql("Host=localhost").Options);
}

sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteEventStoreDbContext>
{
    public SqliteEventStoreDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteEventStoreDbContext>().UseSqlite("Data Source=design.db").Options);
}
