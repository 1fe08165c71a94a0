using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace FlashDeal.Grpc;

public static class GrpcHealthExtensions
{
    /// <summary>
    /// Registers grpc.health.v1 driven by ASP.NET Core health checks (add checks on the returned builder) and by
    /// <see cref="GrpcHealthStatus"/>.
    /// </summary>
    public static IHealthChecksBuilder AddGrpcHealthChecks(this IServiceCollection services,
        Action<GrpcHealthChecksOptions>? configure = null)
    {
        services.AddOptions<GrpcHealthChecksOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton<GrpcHealthStatus>();
        services.AddHostedService<HealthCheckPoller>();
        return services.AddHealthChecks();
    }

    /// <summary>Maps grpc.health.v1.Health (Check and Watch).</summary>
    public static IEndpointConventionBuilder MapGrpcHealthChecksService(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<GrpcHealthService>();

    /// <summary>
    /// Maps REST probes: liveness (always 200 while the process serves HTTP) and readiness (200 when the overall
    /// service is SERVING, else 503), each answering small JSON.
    /// </summary>
    public static IEndpointConventionBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints,
        string livenessPath = "/healthz", string readinessPath = "/readyz")
    {
        var health = endpoints.ServiceProvider.GetService<GrpcHealthStatus>()
            ?? throw new InvalidOperationException("Call services.AddGrpcHealthChecks() before MapHealthEndpoints().");
        var group = endpoints.MapGroup("");
        group.MapGet(livenessPath, (HttpContext http) => WriteAsync(http, StatusCodes.Status200OK, "ALIVE", null))
            .WithDisplayName("Health liveness");
        group.MapGet(readinessPath, (HttpContext http) =>
        {
            var statuses = health.Snapshot();
            var overall = statuses.GetValueOrDefault(GrpcHealthStatus.Overall, ServingStatus.ServiceUnknown);
            var code = overall == ServingStatus.Serving ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return WriteAsync(http, code, Name(overall), statuses);
        }).WithDisplayName("Health readiness");
        return group;
    }

    private static async Task WriteAsync(HttpContext http, int statusCode, string status,
        IReadOnlyDictionary<string, ServingStatus>? services)
    {
        http.Response.StatusCode = statusCode;
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(http.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", status);
        if (services is not null)
        {
            json.WriteStartObject("services");
            foreach (var (name, value) in services.Where(s => s.Key.Length > 0).OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                json.WriteString(name, Name(value));
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static string Name(ServingStatus status) => status switch
    {
        ServingStatus.Serving => "SERVING",
        ServingStatus.NotServing => "NOT_SERVING",
        ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
        _ => "UNKNOWN",
    };
}
