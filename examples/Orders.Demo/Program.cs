using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Platform.Commands;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Persistence;
using Shop.Orders;
using Shop.Orders.Demo;

// Places orders through the generated Order aggregate into the SQLite event store (some stored
// by an older build at OrderPlaced v1), moves them through their lifecycle, runs the generated
// projections over every stored event, and prints what the read models say.
var orders = args.Length > 0 && int.TryParse(args[0], out var n) && n > 0 ? n : 1000;
var folder = Directory.CreateTempSubdirectory("platform-orders-demo-");
var eventsDb = $"Data Source={Path.Combine(folder.FullName, "events.db")}";
var readDb = $"Data Source={Path.Combine(folder.FullName, "read-models.db")}";
var watch = Stopwatch.StartNew();
Console.WriteLine($"Orders demo: {orders:N0} orders, SQLite in {folder.FullName}");

// 1. An older build of the service, which knew OrderPlaced only at v1, stored the first tenth.
var legacyOrders = orders / 10;
await using (var legacy = new ServiceCollection()
                 .AddSingleton<EventTypeDescriptor>(new LegacyOrderPlacedV1())
                 .AddEventStore(o => o.UseSqlite(eventsDb))
                 .BuildServiceProvider())
{
    var store = legacy.GetRequiredService<SqlEventStore>();
    await store.MigrateAsync();
    for (var i = 0; i < legacyOrders; i++)
    {
        var placed = new OrderPlacedV1(Customer(i), Items(i), Total(Items(i)), $"{i} Legacy Street", Currency: null);
        await store.AppendAsync(OrderId(i).ToString("D"), Order.AggregateTypeName, ExpectedVersion.NoStream, new[] { EventData.Create(placed) });
    }
}
Console.WriteLine($"  {legacyOrders:N0} orders stored by the previous build (OrderPlaced v1, no currency, no shipping method)");

// 2. The current build: every command goes through the generated aggregate.
await using var services = new ServiceCollection()
    .AddOrdersDomain()
    .AddEventStore(o => o.UseSqlite(eventsDb))
    .BuildServiceProvider();
var aggregates = services.GetRequiredService<IAggregateStore>();
var rejected = 0;

async Task Execute(object command)
{
    var id = Order.StreamIdOf(command);
    var loaded = await aggregates.LoadAsync(Order.Definition, id);
    try
    {
        var events = Order.Definition.Handle(loaded.State, loaded.Version, command);
        await aggregates.SaveAsync(Order.Definition, loaded, events.Select(e => EventData.Create(e)).ToList());
    }
    catch (CommandRejectedException)
    {
        rejected++;
    }
}

for (var i = legacyOrders; i < orders; i++)
{
    await Execute(new PlaceOrder(OrderId(i), Customer(i), Items(i), $"{i} Main Street", i % 3 == 0 ? "USD" : "KRW", i % 4 == 0 ? "EXPRESS" : "STANDARD"));
    if ((i + 1 - legacyOrders) % 250 == 0) Console.WriteLine($"  placed {i + 1 - legacyOrders:N0} orders through the Order aggregate");
}
for (var i = 0; i < orders; i++)
{
    if (i % 10 < 7) await Execute(new ConfirmOrder(OrderId(i)));
    if (i % 10 < 4) await Execute(new ShipOrder(OrderId(i), $"TRACK-{i:D6}"));
    if (i % 10 is 6 or 8) await Execute(new CancelOrder(OrderId(i), "customer changed their mind"));
    if (i % 50 == 9) await Execute(new ShipOrder(OrderId(i), $"TRACK-{i:D6}")); // never confirmed: the guard refuses it
}
var head = await services.GetRequiredService<IEventStore>().GetHeadPositionAsync();
Console.WriteLine($"  lifecycle done: {head:N0} events stored, {rejected:N0} commands refused by the aggregate's guards");

// 3. The generated projections over every stored event, in global order; v1 events arrive upcast.
var readModels = new DbContextOptionsBuilder<ReadModels>().UseSqlite(readDb).Options;
await using (var db = new ReadModels(readModels)) await db.Database.EnsureCreatedAsync();
var summary = new OrderSummaryProjection();
var customers = new CustomerOrdersProjection();
var store2 = services.GetRequiredService<IEventStore>();
long position = 0, applied = 0, upcast = 0;
while (true)
{
    var page = await store2.ReadAllAsync(position, 500);
    await using var db = new ReadModels(readModels);
    foreach (var envelope in page.Events)
    {
        if (envelope.SchemaVersion < OrderPlaced.SchemaVersion && envelope.Event is OrderPlaced) upcast++;
        if (await summary.ApplyAsync(db, envelope)) applied++;
        await customers.ApplyAsync(db, envelope);
    }
    await db.SaveChangesAsync();
    position = page.NextPosition;
    if (page.ReachedEnd) break;
}
var seconds = watch.Elapsed.TotalSeconds;

// 4. The summary, computed from the read models.
await using (var db = new ReadModels(readModels))
{
    var byStatus = await db.Set<OrderSummary>().GroupBy(o => o.Status).Select(g => new { Status = g.Key, Count = g.Count() }).ToListAsync();
    var krw = await db.Set<OrderSummary>().CountAsync(o => o.Currency == "KRW");
    var customerRows = await db.Set<CustomerOrders>().ToListAsync();
    var top = customerRows.OrderByDescending(c => c.TotalSpent).First();
    Console.WriteLine();
    Console.WriteLine("Read model OrderSummary, orders by status:");
    foreach (var row in byStatus.OrderBy(r => r.Status, StringComparer.Ordinal))
        Console.WriteLine($"  {row.Status,-10} {row.Count,6:N0}");
    Console.WriteLine($"  orders in KRW: {krw:N0} (the v1 orders got KRW from the upcaster)");
    Console.WriteLine($"Read model CustomerOrders: {customerRows.Count:N0} customers; top {top.CustomerId} with {top.OrderCount} orders, {top.TotalSpent:N2} spent");
    Console.WriteLine($"Events: {head:N0} stored, {upcast:N0} read as v1 and upcast to v2, {applied:N0} applied to OrderSummary");
    Console.WriteLine($"Time: {seconds:N1} s, {head / seconds:N0} events/s end to end (commands, store, projections; SQLite, one process)");
}
Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
folder.Delete(recursive: true);
return 0;

static Guid OrderId(int i) => new(i, 0, 0, new byte[] { 0, 0, 0, 0, 0, 0, 0, 1 });
static string Customer(int i) => $"customer-{i % 97:D3}";
static OrderItem[] Items(int i) => Enumerable.Range(0, 1 + i % 3).Select(k => new OrderItem($"sku-{(i + k) % 50:D2}", 1 + k, 9.99m + k)).ToArray();
static decimal Total(OrderItem[] items) => items.Sum(x => x.Price * x.Quantity);
