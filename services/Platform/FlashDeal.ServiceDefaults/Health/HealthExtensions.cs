using System.Text.Json;
using Grpc.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using ProtoServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Health on both ports, from the ASP.NET Core health checks tagged "ready" (PostgreSQL, Redis, a service's own):
/// grpc.health.v1 Check and Watch (Grpc.AspNetCore.HealthChecks) for the overall service "" and each mapped API, and
/// REST probes /healthz (liveness: the process answers) and /readyz (readiness: 200 or 503 with the checks' statuses).
/// From SIGTERM on, readiness fails and Watch streams end with NOT_SERVING, so balancers stop sending new calls while the
/// ones in flight finish.
/// </summary>
public static class HealthExtensions
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddFlashDealHealth(this IServiceCollection services, TimeSpan period)
    {
        services.AddGrpcHealthChecks(o =>
        {
            o.Services.Remove(string.Empty);
            o.Services.Map(string.Empty, check => check.Tags.Contains(ReadyTag));
        }).AddCheck<ShutdownHealthCheck>("shutdown", tags: [ReadyTag]);
        services.AddSingleton<HealthMetrics>();
        services.AddSingleton<IHealthCheckPublisher>(sp => sp.GetRequiredService<HealthMetrics>());
        // Watch streams hear of changes when the checks are published: first a second after start, then every period.
        services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.FromSeconds(1);
            o.Period = period;
        });
        return services;
    }

    /// <summary>grpc.health.v1 status for an API by its full proto name (e.g. flashdeal.orders.v1.OrderService).</summary>
    public static IServiceCollection AddGrpcServiceHealth(this IServiceCollection services, ProtoServiceDescriptor service)
    {
        services.Configure<GrpcHealthChecksOptions>(o =>
        {
            o.Services.Remove(service.FullName);
            o.Services.Map(service.FullName, check => check.Tags.Contains(ReadyTag));
        });
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (http, _) => WriteAsync(http, "ALIVE", null),
        });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = (http, report) => WriteAsync(http,
                report.Status == HealthStatus.Unhealthy ? "NOT_SERVING" : "SERVING", report),
        });
        return endpoints;
    }

    private static async Task WriteAsync(HttpContext http, string status, HealthReport? report)
    {
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(http.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", status);
        if (report is not null)
        {
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                json.WriteString(name, entry.Status.ToString());
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>Unhealthy from the moment the host starts stopping (SIGTERM): the drain before the exit.</summary>
    private sealed class ShutdownHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("The service is shutting down.")
                : HealthCheckResult.Healthy());
    }
}
