using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform run [--config platform.yaml]</c>: hosts the shared runtime (store, transport, the
/// domains it lists, relay, projections, consumers) until Ctrl+C or SIGTERM. Settings come from the
/// file, then <c>appsettings.json</c> in the working folder, then <c>Platform__*</c> environment
/// variables, each overriding the one before (so secrets need not be in the file).
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "The runtime's configuration file.", DefaultValueFactory = _ => "platform.yaml" };
        var command = new Command("run", "Run the shared runtime configured by platform.yaml until stopped.") { config };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(config)!, parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error, ct));
        return command;
    }

    /// <summary>
    /// The runtime's configuration in its layers, each overriding the one before: the file,
    /// <c>appsettings.json</c> in the working folder, then the environment (added again after the
    /// file where a host already added them, so the environment overrides it). <c>platform kafka</c>
    /// and <c>platform status</c> read the runtime's settings the same way.
    /// </summary>
    internal static IConfigurationBuilder AddRuntimeConfiguration(this IConfigurationBuilder builder, string file, bool optional) =>
        builder.AddPlatformYaml(file, optional)
            .AddJsonFile(Path.GetFullPath("appsettings.json"), optional: true)
            .AddEnvironmentVariables();

    internal static async Task<int> RunAsync(string configPath, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        try
        {
            builder.Configuration.AddRuntimeConfiguration(configPath, optional: false);
            var section = builder.Configuration.GetSection(PlatformYamlConfiguration.Section);
            builder.Services.AddPlatform(section);
        }
        catch (PlatformConfigurationException exception)
        {
            error.WriteLine($"error: {exception.Message}");
            return 1;
        }
        catch (InvalidOperationException exception)
        {
            error.WriteLine($"error: {StoreArguments.OneLine(exception.Message)} (in {configPath} or the Platform__* environment)");
            return 1;
        }

        using var host = builder.Build();
        var options = host.Services.GetRequiredService<PlatformOptions>();
        var catalog = host.Services.GetRequiredService<DomainCatalog>();
        output.WriteLine($"platform run: store {options.Store.Provider.ToString().ToLowerInvariant()}, transport {options.Transport.Kind.ToString().ToLowerInvariant()}, " +
                         $"{catalog.Aggregates.Count} aggregate(s), {catalog.Projections.Count} projection(s); Ctrl+C stops.");
        try
        {
            await host.RunAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception exception) when (exception is InvalidOperationException or System.Data.Common.DbException
                                              or MassTransit.MassTransitException or TimeoutException)
        {
            error.WriteLine($"error: the runtime stopped: {StoreArguments.OneLine(exception.Message)}");
            return 1;
        }
        return 0;
    }
}
