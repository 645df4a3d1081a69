using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Platform.Cli.Documents;
using Platform.Runtime.Configuration;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// The code of the guides in docs/guides: every YAML and C# block there is a region of a file under
/// Guides/ or examples/ (snippet markers, checked by <c>platform docs snippets</c>), and here those
/// files are generated, compiled and run the way a service would use them.
/// </summary>
public class GuideExamples
{
    static string Guides => Path.Combine(GeneratorHarness.RepositoryRoot, "tests", "Platform.Generators.Tests", "Guides");

    [Fact]
    public async Task first_aggregate_generates_compiles_and_runs_on_the_hosted_runtime()
    {
        var definitions = Path.Combine(Guides, "FirstAggregate", "definitions");
        var assembly = Compile("Support.Tickets", GeneratorHarness.Load(definitions), File.ReadAllText(Path.Combine(Guides, "FirstAggregate", "TicketDesk.cs")));
        var run = assembly.GetType("Support.Desk.TicketDesk", throwOnError: true)!.GetMethod("RunAsync")!;

        var folder = Directory.CreateTempSubdirectory("first-aggregate-guide-");
        try
        {
            var seen = await (Task<IReadOnlyList<string>>)run.Invoke(null, [Path.Combine(folder.FullName, "tickets.db")])!;
            Assert.Equal(
                [
                    "OpenTicket rejected by Ticket: it already exists",
                    "opened at version 1",
                    "Printer on fire: Assigned, ada",
                    "0 tickets on the board after closing",
                ],
                seen);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void hand_written_hooks_compile_with_the_orders_code_and_the_command_rule_refuses()
    {
        var assembly = Compile("Shop.Orders", GeneratorHarness.Load(GeneratorHarness.OrdersDefinitions), File.ReadAllText(Path.Combine(Guides, "Hooks", "OrderHooks.cs")));
        object order = assembly.GetType("Shop.Orders.Order", throwOnError: true)!.GetProperty("Definition")!.GetValue(null)!;
        var state = assembly.GetType("Shop.Orders.Order")!.GetMethod("CreateEmpty")!.Invoke(order, null);
        var itemType = assembly.GetType("Shop.Orders.OrderItem", throwOnError: true)!;
        var items = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(itemType))!;
        for (var i = 0; i < 51; i++)
            items.Add(Activator.CreateInstance(itemType, $"p-{i}", 1, 1m));
        var place = Activator.CreateInstance(assembly.GetType("Shop.Orders.PlaceOrder", throwOnError: true)!, Guid.NewGuid(), "c-1", items, "Seoul", "KRW", "STANDARD")!;

        var handle = order.GetType().GetMethod("Handle", [state!.GetType(), typeof(long), place.GetType()])!;
        var rejected = Assert.Throws<TargetInvocationException>(() => handle.Invoke(order, [state, 0L, place]));
        Assert.Equal("PlaceOrder rejected by Order: an order has at most 50 lines, this one has 51", rejected.InnerException!.Message);

        items.RemoveAt(0);
        var events = (System.Collections.IEnumerable)handle.Invoke(order, [state, 0L, place])!;
        Assert.Equal("OrderPlaced", Assert.Single(events.Cast<object>()).GetType().Name);
    }

    [Fact]
    public void saga_services_compile_against_the_orders_code_and_route_the_saga_commands()
    {
        var source = File.ReadAllText(Path.Combine(Guides, "Sagas", "FulfilmentServices.cs"));
        var compilation = GeneratorHarness.CreateCompilation("Shop.Fulfilment", [ImplicitUsings, source]);
        compilation = compilation.AddReferences(ServiceReferences(compilation, "Shop.Fulfilment"));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "the guide's code does not compile:\n" + string.Join("\n", errors));
        var assembly = GeneratorHarness.LoadAssembly(compilation);

        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        assembly.GetType("Shop.Fulfilment.FulfilmentHost", throwOnError: true)!.GetMethod("AddFulfilment")!
            .Invoke(null, [services, "Data Source=fulfilment.db"]);
        var options = (PlatformOptions)services.Single(s => s.ServiceType == typeof(PlatformOptions)).ImplementationInstance!;
        Assert.Equal(new Uri("queue:platform-paymentservice"), options.Sagas.Routes[typeof(Shop.Payments.ChargePayment)]);
        Assert.Equal(new Uri("queue:shipping"), options.Sagas.Routes[typeof(Shop.Inventory.ArrangeShipment)]);
        Assert.Equal(TimeSpan.FromMinutes(5), options.Sagas.Timeouts["OrderFulfilmentInventoryTimeout"]);
    }

    [Theory]
    [InlineData("platform.rabbitmq.yaml", TransportKind.RabbitMq)]
    [InlineData("platform.kafka.yaml", TransportKind.Kafka)]
    public void the_deployment_files_of_docs_deploying_load_and_bind(string file, TransportKind transport)
    {
        var path = Path.Combine(Guides, "Deploying", file);
        var settings = PlatformYamlConfiguration.Parse(File.ReadAllText(path), path);
        Assert.Equal("postgres", settings["Platform:Store:Provider"]);
        Assert.Equal(transport.ToString(), settings["Platform:Transport:Kind"], ignoreCase: true);
        Assert.Equal("shop", settings["Platform:Transport:QueuePrefix"]);
        // A relative .dll under domains is resolved against the file's folder.
        Assert.True(Path.IsPathRooted(settings["Platform:Domains:0"]));
    }

    [Fact]
    public void every_snippet_in_the_docs_equals_its_source()
    {
        var report = DocSnippets.Run(GeneratorHarness.RepositoryRoot, fix: false);
        Assert.True(report.Stale.Count == 0 && report.Broken.Count == 0,
            "stale or broken snippets (refresh with scripts/drift-check.sh --fix):\n" + string.Join("\n", report.Stale.Concat(report.Broken)));
        Assert.True(report.Blocks >= 10, $"only {report.Blocks} marked snippets in the docs; the guides lost their markers");
    }

    // What the SDK adds to every project here (ImplicitUsings in Directory.Build.props).
    const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>Generates from <paramref name="texts"/>, compiles with <paramref name="handWritten"/> as a service build would, and loads the result.</summary>
    internal static Assembly Compile(string assemblyName, ImmutableArray<AdditionalText> texts, params string[] handWritten)
    {
        var compilation = GeneratorHarness.CreateCompilation(assemblyName, [ImplicitUsings, .. handWritten]);
        compilation = compilation.AddReferences(ServiceReferences(compilation, assemblyName));
        var (_, output, diagnostics) = GeneratorHarness.Run(texts, compilation);
        Assert.Empty(diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "the guide's code does not compile:\n" + string.Join("\n", errors));
        return GeneratorHarness.LoadAssembly(output);
    }

    /// <summary>
    /// Compiles the definitions with a hand-written service and calls its static
    /// <c>RunAsync(args)</c> on <paramref name="runner"/>, which returns what it saw. While it runs,
    /// the compiled assembly is found by its name, as a service's own assembly is: the runtime's
    /// outbox stores a message's type by its assembly-qualified name and loads it back by that name.
    /// </summary>
    internal static async Task<IReadOnlyList<string>> RunAsync(string assemblyName, ImmutableArray<AdditionalText> texts, string service, string runner, params object[] args)
    {
        var assembly = Compile(assemblyName, texts, service, Hosting);
        var run = assembly.GetType(runner, throwOnError: true)!.GetMethod("RunAsync")!;
        ResolveEventHandler resolve = (_, resolving) => resolving.Name.StartsWith(assemblyName + ",", StringComparison.Ordinal) ? assembly : null;
        AppDomain.CurrentDomain.AssemblyResolve += resolve;
        try
        {
            return await (Task<IReadOnlyList<string>>)run.Invoke(null, args)!;
        }
        finally
        {
            AppDomain.CurrentDomain.AssemblyResolve -= resolve;
        }
    }

    // Compiled with every service RunAsync runs: the runtime hosted as a service hosts it, on the
    // test's store, with the generated domain and what the service adds.
    const string Hosting = """
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using Microsoft.Extensions.Logging;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Projections;
        using Platform.Runtime.Sagas;

        namespace Platform.Torture;

        public static class Hosted
        {
            public static IHost Build(bool postgres, string connectionString, Type domain, Action<PlatformOptions>? configure = null,
                Action<IServiceCollection>? services = null, Action<ILoggingBuilder>? logging = null) =>
                new HostBuilder()
                    .ConfigureLogging(builder => logging?.Invoke(builder))
                    .ConfigureServices(collection =>
                    {
                        services?.Invoke(collection);
                        collection.AddPlatform(cfg =>
                        {
                            (postgres ? cfg.UsePostgres(connectionString) : cfg.UseSqlite(connectionString)).AddDomain(domain);
                            configure?.Invoke(cfg);
                        });
                    })
                    .Build();

            // The runtime beside a saga's services: TService consumes what routes sends to its queue, and
            // timeouts and outbox rows are polled every 50 ms.
            public static IHost BuildWithService<TService>(bool postgres, string connectionString, Type domain, string queuePrefix,
                Action<PlatformSagaOptions, Uri> routes, Action<IServiceCollection>? services = null, Action<ILoggingBuilder>? logging = null)
                where TService : class, MassTransit.IConsumer =>
                Build(postgres, connectionString, domain, cfg =>
                {
                    cfg.Transport.QueuePrefix = queuePrefix + "-" + Guid.NewGuid().ToString("N")[..8];
                    cfg.Sagas.PollInterval = TimeSpan.FromMilliseconds(50);
                    cfg.AddEventConsumer<TService>();
                    routes(cfg.Sagas, new Uri("queue:" + cfg.EventQueueName(typeof(TService))));
                }, services, logging);

            // The operators' view of the run's sagas, on its store.
            public static SagaOperations Sagas(IServiceProvider services)
            {
                var options = services.GetRequiredService<PlatformOptions>();
                return new SagaOperations(options.Store.Provider, options.Store.ConnectionString);
            }

            // Starts the host, runs the body on its services, stops and disposes it.
            public static async Task<T> RunAsync<T>(IHost host, Func<IServiceProvider, Task<T>> body)
            {
                using (host)
                {
                    await host.StartAsync();
                    try
                    {
                        return await body(host.Services);
                    }
                    finally
                    {
                        await host.StopAsync();
                    }
                }
            }

            public static Task RunAsync(IHost host, Func<IServiceProvider, Task> body) =>
                RunAsync(host, async services => { await body(services); return true; });

            // Waits until each projection has applied the store up to position; one that does not
            // fails the run with its state and last error.
            public static async Task CaughtUpAsync(IServiceProvider services, long position, params string[] projections)
            {
                foreach (var name in projections)
                {
                    var wait = await services.GetRequiredService<ProjectionConsistency>().WaitForAsync(name, position, TimeSpan.FromSeconds(30));
                    if (wait != ProjectionWait.Reached)
                        throw new InvalidOperationException($"{name}: {wait}: " +
                            (await services.GetRequiredService<ProjectionEngine>().GetStatusAsync()).First(s => s.Name == name).LastError);
                }
            }

            // A stream's events as stored, oldest first.
            public static async Task<List<Platform.Events.EventEnvelope>> StreamAsync(IServiceProvider services, Guid id)
            {
                var events = new List<Platform.Events.EventEnvelope>();
                await foreach (var envelope in services.GetRequiredService<Platform.Persistence.IEventStore>().ReadStreamAsync(id.ToString("D")))
                    events.Add(envelope);
                return events;
            }

            // A count read from the store's database by hand (rows the runtime's APIs do not list).
            public static async Task<long> CountAsync(bool postgres, string connectionString, string sql, params (string Name, object Value)[] parameters)
            {
                await using var connection = postgres
                    ? (System.Data.Common.DbConnection)new Npgsql.NpgsqlConnection(connectionString)
                    : new Microsoft.Data.Sqlite.SqliteConnection(connectionString);
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                foreach (var (name, value) in parameters)
                {
                    var parameter = command.CreateParameter();
                    (parameter.ParameterName, parameter.Value) = (name, value);
                    command.Parameters.Add(parameter);
                }
                return Convert.ToInt64(await command.ExecuteScalarAsync());
            }

            // Waits (30 s at most) until the saga is in one of states; one that does not get there
            // fails the run with where it is, what it sent and what describe adds.
            public static async Task<SagaInstanceRow> SagaInAsync(SagaOperations sagas, Guid id, string[] states, Func<string>? describe = null)
            {
                SagaDetails? details = null;
                for (var wait = 0; wait < 600; wait++)
                {
                    details = (await sagas.GetAsync(id)).SingleOrDefault();
                    if (details is not null && states.Contains(details.Instance.CurrentState))
                        return details.Instance;
                    await Task.Delay(50);
                }
                throw new TimeoutException($"saga {id}: {details?.Instance.CurrentState ?? "none"}, sent {string.Join(" ", details?.History.Select(h => h.Sent) ?? [])}; {describe?.Invoke()}");
            }
        }
        """;

    /// <summary>
    /// Runs the service (as <see cref="RunAsync"/>, its first arguments whether the store is
    /// PostgreSQL and the connection string) on a fresh database of <paramref name="store"/>, and
    /// compares its lines with <paramref name="expected"/>, joined, so that a failure shows the whole
    /// line that differs.
    /// </summary>
    internal static async Task AssertRunAsync(Store store, string assemblyName, ImmutableArray<AdditionalText> texts, string service, string runner,
        string[] expected, params object[] args)
    {
        await using var database = await TestDatabase.CreateAsync(store, assemblyName[(assemblyName.LastIndexOf('.') + 1)..].ToLowerInvariant());
        var lines = await RunAsync(assemblyName, texts, service, runner, [store == Store.Postgres, database.ConnectionString, .. args]);
        Assert.Equal(string.Join("\n", expected), string.Join("\n", lines));
    }

    /// <summary>What a service that hosts the runtime references beyond the generator harness's set: the runtime, hosting, SQLite.</summary>
    static IEnumerable<MetadataReference> ServiceReferences(Compilation compilation, string assemblyName)
    {
        var present = compilation.References.Select(r => Path.GetFileName(r.Display ?? "")).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var own = typeof(GuideExamples).Assembly.Location;
        return Directory.GetFiles(AppContext.BaseDirectory, "*.dll")
            .Where(path => !present.Contains(Path.GetFileName(path)) && path != own
                           && !Path.GetFileNameWithoutExtension(path).Equals(assemblyName, StringComparison.OrdinalIgnoreCase))
            .Where(path => { try { AssemblyName.GetAssemblyName(path); return true; } catch (BadImageFormatException) { return false; } })
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path));
    }
}
