using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// OpenTelemetry without the hosting and instrumentation packages (they do not restore here): providers are built by
/// hand and subscribe to the sources .NET, ASP.NET Core, Npgsql and our runtime already emit. Nothing is collected unless
/// an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or Telemetry:OtlpEndpoint), so the hot path pays nothing.
/// </summary>
public static class TelemetryExtensions
{
    public static readonly string[] Sources = ["FlashDeal.*", "Microsoft.AspNetCore", "System.Net.Http", "Npgsql"];

    public static readonly string[] Meters =
    [
        "FlashDeal.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "Npgsql",
    ];

    public static IServiceCollection AddFlashDealTelemetry(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        var endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? configuration["Telemetry:OtlpEndpoint"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return services;
        }
        var ratio = configuration.GetValue("Telemetry:TraceSampleRatio", 0.05);
        var resource = ResourceBuilder.CreateDefault().AddService(serviceName);
        var tracing = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(Sources)
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)))
            .AddOtlpExporter(o => o.Endpoint = new Uri(endpoint))
            .Build();
        var metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(Meters)
            .AddOtlpExporter(o => o.Endpoint = new Uri(endpoint))
            .Build();
        // Registered as singletons so the host disposes them at shutdown, which flushes pending spans and metrics.
        services.AddSingleton(tracing);
        services.AddSingleton(metrics);
        return services;
    }
}
