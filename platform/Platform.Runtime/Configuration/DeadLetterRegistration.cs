using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.Runtime.DeadLetters;

namespace Platform.Runtime.Configuration;

/// <summary>The retries-and-dead-letters part of <c>AddPlatform</c>.</summary>
static class DeadLetterRegistration
{
    /// <summary>Registers the <see cref="DeadLetterStore"/>, the service that replays requested dead letters (after the bus) and the one that counts them for the gauge.</summary>
    public static IServiceCollection AddPlatformDeadLetters(this IServiceCollection services, PlatformOptions options)
    {
        options.Retries.Validate();
        services.TryAddSingleton(new DeadLetterStore(options.Store.Provider, options.Store.ConnectionString));
        services.TryAddSingleton<EndpointMessageTypes>();
        services.AddHostedService<DeadLetterReplayService>();
        services.AddHostedService<DeadLetterGauge>();
        return services;
    }
}
