using Microsoft.EntityFrameworkCore;

namespace Shop.Orders.Demo;

/// <summary>The read models of the generated projections, in their own SQLite file.</summary>
sealed class ReadModels(DbContextOptions<ReadModels> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder model)
    {
        model.ApplyConfiguration(new OrderSummaryConfiguration());
        model.ApplyConfiguration(new CustomerOrdersConfiguration());
    }
}
