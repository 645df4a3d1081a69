using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Platform.Runtime.Configuration;

/// <summary>
/// OpenTelemetry for the runtime: traces of the <c>Platform.Runtime</c> and <c>MassTransit</c>
/// activity sources (command, publish, consume, projection apply: one trace from command to read
/// model) and metrics of the <c>Platform.Runtime</c>, <c>Platform.EventStore</c> and
/// <c>MassTransit</c> meters, exported over OTLP and/or to the console as configured.
/// </summary>
public static class PlatformObservability
{
    /// <summary>MassTransit's activity source and meter.</summary>
    public const string MassTransitSource = "MassTransit";

    /// <summary>The event store's meter (the outbox relay's lag gauges).</summary>
    public const string EventStoreMeter = "Platform.EventStore";

    internal static void AddPlatformTelemetry(this IServiceCollection services, PlatformTelemetryOptions options)
    {
        if (!options.IsEnabled)
            return;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource(PlatformTelemetry.Name, MassTransitSource);
                if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint))
                    tracing.AddOtlpExporter(otlp => Configure(otlp, options));
                if (options.Console)
                    tracing.AddConsoleExporter();
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(PlatformTelemetry.Name, EventStoreMeter, MassTransitSource);
                if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint))
                    metrics.AddOtlpExporter(otlp => Configure(otlp, options));
                if (options.Console)
                    metrics.AddConsoleExporter();
            });
    }

    static void Configure(OtlpExporterOptions otlp, PlatformTelemetryOptions options)
    {
        otlp.Endpoint = new Uri(options.OtlpEndpoint!);
        otlp.Protocol = options.OtlpProtocol == OtlpProtocol.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
    }
}
