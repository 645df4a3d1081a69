// The service code of docs/guides/first-aggregate.md: host the runtime with the generated Tickets
// domain, send commands, read the projection. FirstAggregateGuide compiles it with the code generated
// from definitions/ and runs it on SQLite and the in-memory transport.
#region usings
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Commands;
using Platform.Runtime.Commands;
using Platform.Runtime.Configuration;
using Platform.Runtime.Projections;
using Support.Tickets;
#endregion

namespace Support.Desk;

public static class TicketDesk
{
    /// <summary>Opens, assigns and closes tickets; returns what the board showed in between, line by line.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(string databaseFile)
    {
        var seen = new List<string>();
        #region host
        var connectionString = $"Data Source={databaseFile}";
        using var host = new HostBuilder()
            .ConfigureServices(services => services.AddPlatform(cfg => cfg
                .UseSqlite(connectionString)
                .AddDomain(typeof(TicketsDomain))))
            .Build();
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<ICommandDispatcher>();
        #endregion

        #region commands
        var ticketId = Guid.NewGuid();
        var opened = await dispatcher.DispatchAsync(new OpenTicket(ticketId, "Printer on fire", TicketPriority.Urgent));
        await dispatcher.DispatchAsync(new AssignTicket(ticketId, "ada"), new CommandContext(UserId: "lead"));
        try
        {
            await dispatcher.DispatchAsync(new OpenTicket(ticketId, "Printer on fire", TicketPriority.Urgent));
        }
        catch (CommandRejectedException rejected)
        {
            seen.Add(rejected.Message);   // OpenTicket creates: the ticket exists already
        }
        #endregion
        seen.Add($"opened at version {opened.Version}");

        #region read-model
        var engine = host.Services.GetRequiredService<ProjectionEngine>();
        while ((await engine.GetStatusAsync()).Any(p => p.LagPositions > 0))
            await Task.Delay(50);
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync();
            var query = connection.CreateCommand();
            query.CommandText = "SELECT title, status, assignee FROM ticket_board";
            await using var row = await query.ExecuteReaderAsync();
            while (await row.ReadAsync())
                seen.Add($"{row.GetString(0)}: {row.GetString(1)}, {row.GetString(2)}");
        }
        #endregion

        await dispatcher.DispatchAsync(new CloseTicket(ticketId, "replaced the fuser"));
        while ((await engine.GetStatusAsync()).Any(p => p.LagPositions > 0))
            await Task.Delay(50);
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync();
            var count = connection.CreateCommand();
            count.CommandText = "SELECT count(*) FROM ticket_board";
            seen.Add($"{await count.ExecuteScalarAsync()} tickets on the board after closing");
        }
        await host.StopAsync();
        SqliteConnection.ClearAllPools();
        return seen;
    }
}
