using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// OpenTelemetry through its hosting API.
/// <list type="bullet">
/// <item><b>Metrics</b>, on by default (<c>Telemetry:Metrics:Enabled</c>): ASP.NET Core and Kestrel, HttpClient,
/// runtime (GC, thread pool), Npgsql's connection pool and commands, and FlashDeal's own meters ("FlashDeal.*",
/// <see cref="FlashDealMetrics"/>), served for Prometheus at <c>/metrics</c> on the REST port (never on the gRPC port,
/// never routed by the edge) and pushed over OTLP as well when an endpoint is set.</item>
/// <item><b>Traces</b>, on when they have somewhere to go: an OTLP endpoint (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
/// <c>Telemetry:OtlpEndpoint</c>), or <c>Telemetry:Tracing:Enabled=true</c> for another exporter (tests add an
/// in-memory one): ASP.NET Core (continuing the W3C traceparent
/// the edge sends), HttpClient, Npgsql and FlashDeal's sources (the Redis script calls, the order stream's persistence
/// linked to each placement); sampled parent-based (a caller's or the edge's sampling decision wins), else at
/// <c>Telemetry:TraceSampleRatio</c> (default 0.05), unless <c>OTEL_TRACES_SAMPLER</c> says otherwise. Every log line of
/// a request carries its trace and span ids either way (ASP.NET Core's request activity continues the caller's
/// traceparent even without tracing). The other standard <c>OTEL_*</c> variables (headers,
/// protocol, service name, resource attributes) are honoured by the SDK.</item>
/// </list>
/// </summary>
public static class TelemetryExtensions
{
    public const string FlashDealSources = "FlashDeal.*";

    /// <summary>The Prometheus scrape path on the REST port.</summary>
    public const string MetricsPath = "/metrics";

    public static IServiceCollection AddFlashDealTelemetry(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        services.AddSingleton<RpcMetrics>();
        var endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? configuration["Telemetry:OtlpEndpoint"];
        var otlp = !string.IsNullOrWhiteSpace(endpoint);
        var metrics = configuration.GetValue("Telemetry:Metrics:Enabled", true);
        var tracing = configuration.GetValue("Telemetry:Tracing:Enabled", otlp);
        if (!metrics && !tracing)
        {
            return services;
        }
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : serviceName,
                serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId));
        if (metrics)
        {
            telemetry.WithMetrics(m => m
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(FlashDealSources)
                .AddPrometheusExporter());
        }
        if (tracing)
        {
            var ratio = configuration.GetValue("Telemetry:TraceSampleRatio", 0.05);
            telemetry.WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddNpgsql()
                    .AddSource(FlashDealSources);
                if (string.IsNullOrEmpty(configuration["OTEL_TRACES_SAMPLER"]))
                {
                    t.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)));
                }
            });
        }
        if (otlp)
        {
            telemetry.UseOtlpExporter(OpenTelemetry.Exporter.OtlpExportProtocol.Grpc, new Uri(endpoint!));
        }
        return services;
    }

    /// <summary>
    /// /metrics when metrics are on: the scrape target of Prometheus and the chart's monitors, on the REST port (HTTP/1.1,
    /// what scrapers speak). The edge routes only the API's paths, so it is never exposed outside the cluster.
    /// </summary>
    public static IEndpointRouteBuilder MapMetricsEndpoint(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetService<MeterProvider>() is not null)
        {
            endpoints.MapPrometheusScrapingEndpoint(MetricsPath);
        }
        return endpoints;
    }
}
