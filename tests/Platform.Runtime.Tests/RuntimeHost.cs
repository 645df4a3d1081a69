using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Testing;
using Shop.Orders;

namespace Platform.Runtime.Tests;

/// <summary>The store and transport a test runs on; the suite is parameterized over them.</summary>
public enum Store { Sqlite, Postgres }

/// <summary>The transport a test runs on.</summary>
public enum Transport { InMemory, RabbitMq }

/// <summary>
/// A started runtime (host with <c>AddPlatform</c>) on a fresh database and, for RabbitMQ, on
/// queues of its own (unique prefix, auto-delete), loading the generated Orders domain.
/// </summary>
sealed class RuntimeHost : IAsyncDisposable
{
    readonly IHost _host;
    readonly Func<Task> _dropDatabase;

    RuntimeHost(IHost host, PlatformOptions options, Func<Task> dropDatabase)
    {
        _host = host;
        Options = options;
        _dropDatabase = dropDatabase;
    }

    public IServiceProvider Services => _host.Services;

    public PlatformOptions Options { get; }

    public SqlEventStore EventStore => Services.GetRequiredService<SqlEventStore>();

    public IBus Bus => Services.GetRequiredService<IBus>();

    public static async Task<RuntimeHost> StartAsync(Store store, Transport transport,
        Action<IServiceCollection>? services = null, Action<PlatformOptions>? configure = null)
    {
        // Resolve the services first so a missing one skips (or fails under CI) before anything starts.
        var rabbit = transport == Transport.RabbitMq ? RealServices.RabbitMq : null;
        string connectionString;
        Func<Task> drop;
        if (store == Store.Postgres)
        {
            connectionString = await RealServices.CreatePostgresDatabaseAsync("runtime");
            drop = () => RealServices.DropPostgresDatabaseAsync(connectionString);
        }
        else
        {
            var file = Path.Combine(Path.GetTempPath(), $"runtime-{Guid.NewGuid():N}.db");
            connectionString = $"Data Source={file}";
            drop = () =>
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var path in new[] { file, file + "-wal", file + "-shm" })
                    File.Delete(path);
                return Task.CompletedTask;
            };
        }

        PlatformOptions? options = null;
        var host = new HostBuilder().ConfigureServices(collection =>
        {
            services?.Invoke(collection);
            collection.AddPlatform(cfg =>
            {
                _ = store == Store.Postgres ? cfg.UsePostgres(connectionString) : cfg.UseSqlite(connectionString);
                if (rabbit is not null)
                    cfg.UseRabbitMq(rabbit);
                cfg.Transport.QueuePrefix = "rt-" + Guid.NewGuid().ToString("N")[..12];
                cfg.Transport.AutoDeleteQueues = true;
                cfg.Transport.PrefetchCount = 16;
                cfg.Transport.Partitions = 4;
                cfg.AddDomain(typeof(OrdersDomain));
                configure?.Invoke(cfg);
                options = cfg;
            });
        }).Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            await drop();
            throw;
        }
        return new RuntimeHost(host, options!, drop);
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await _host.StopAsync(stop.Token);
        if (_host is IAsyncDisposable asyncHost)
            await asyncHost.DisposeAsync();
        else
            _host.Dispose();
        await _dropDatabase();
    }
}

static class Eventually
{
    /// <summary>Waits until <paramref name="condition"/> holds, checking every 20 ms, failing after <paramref name="timeout"/>.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<Task<string>>? state = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"Waited {limit.TotalSeconds:0} s for {what}." + (state is null ? "" : " " + await state()));
            await Task.Delay(20);
        }
    }
}
