using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// OpenTelemetry through its hosting API with the standard instrumentation (ASP.NET Core and gRPC server, HttpClient,
/// runtime, Npgsql) and FlashDeal's own sources and meters ("FlashDeal.*"). Exported over OTLP when
/// OTEL_EXPORTER_OTLP_ENDPOINT (or Telemetry:OtlpEndpoint) is set, with the other standard OTEL_* variables honoured;
/// without an endpoint nothing is collected, so the hot path pays nothing. W3C trace context (traceparent) is read from
/// every request, whatever crossed the edge.
/// </summary>
public static class TelemetryExtensions
{
    public const string FlashDealSources = "FlashDeal.*";

    public static IServiceCollection AddFlashDealTelemetry(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        var endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? configuration["Telemetry:OtlpEndpoint"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return services;
        }
        var ratio = configuration.GetValue("Telemetry:TraceSampleRatio", 0.05);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource(FlashDealSources)
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio))))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(FlashDealSources, "FlashDeal.RateLimiting"))
            .UseOtlpExporter(OpenTelemetry.Exporter.OtlpExportProtocol.Grpc, new Uri(endpoint));
        return services;
    }
}
