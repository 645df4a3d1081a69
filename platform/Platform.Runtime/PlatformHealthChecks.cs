using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;
using Platform.Runtime.Projections;

namespace Platform.Runtime;

/// <summary>
/// The runtime's health checks, registered by <c>AddPlatform</c> with the tag <c>ready</c> (MassTransit
/// adds its bus's): a host maps them to its readiness endpoint, e.g.
/// <c>app.MapHealthChecks("/health/ready", new() { Predicate = check =&gt; check.Tags.Contains("ready") })</c>.
/// </summary>
public static class PlatformHealthChecks
{
    /// <summary>The store answers a query.</summary>
    public const string Store = "platform-store";

    /// <summary>This process's projections hold this build's rows.</summary>
    public const string Projections = "platform-projections";

    /// <summary>The tag of every check here: whether the instance should take traffic.</summary>
    public const string ReadyTag = "ready";

    internal static void Add(IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<StoreHealthCheck>(Store, tags: [ReadyTag])
            .AddCheck<ProjectionsHealthCheck>(Projections, tags: [ReadyTag]);

    sealed class StoreHealthCheck(SqlEventStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var head = await store.GetHeadPositionAsync(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy($"the event store answers; head at position {head}");
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "the event store does not answer: " + exception.Message, exception);
            }
        }
    }

    // Not ready while a projection's live table is not this build's (a rolling deploy: the older
    // instances serve until the swap). Degraded, not unready, for a parked projection: every
    // instance shares its table, so taking this one out of traffic would help nothing.
    sealed class ProjectionsHealthCheck(IServiceProvider services, PlatformOptions options) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!options.Projections.Enabled || services.GetService<ProjectionEngine>() is not { } engine)
                return Task.FromResult(HealthCheckResult.Healthy("the projection engine does not run in this process"));
            var statuses = engine.GetStatus();
            var data = statuses.ToDictionary(s => s.Name, s => (object)s.State.ToString());
            var notServing = engine.NotServing();
            if (notServing.Count > 0)
                return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus,
                    string.Join("; ", notServing.Select(p => $"{p.Projection}: {p.Reason}")), data: data));
            var parked = statuses.Where(s => s.State == ProjectionState.Parked).ToList();
            return Task.FromResult(parked.Count > 0
                ? HealthCheckResult.Degraded(string.Join("; ", parked.Select(p =>
                    $"{p.Name}: parked on the event at position {(p.LastError as ProjectionApplyException)?.GlobalPosition ?? p.Position + 1} (platform projections resume {p.Name} after the fix)")),
                    data: data)
                : HealthCheckResult.Healthy($"{data.Count} projection(s) applying events", data));
        }
    }
}
