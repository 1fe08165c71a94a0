using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlashDeal.Grpc;

/// <summary>How ASP.NET Core health check results become grpc.health.v1 statuses.</summary>
public sealed class GrpcHealthChecksOptions
{
    private readonly List<GrpcHealthCheckMapping> _services = [];

    /// <summary>How often the health checks run. Default 5 s.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long startup waits for the first results, so the first probe sees a real status. Default 5 s.</summary>
    public TimeSpan StartupWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The health-checked services. The overall service "" covers every check unless mapped otherwise. A service is
    /// NOT_SERVING when one of its checks is Unhealthy, else SERVING (Degraded still serves).
    /// </summary>
    public IReadOnlyList<GrpcHealthCheckMapping> Services =>
        _services.Any(s => s.Service == GrpcHealthStatus.Overall)
            ? _services
            : [new GrpcHealthCheckMapping(GrpcHealthStatus.Overall, static (_, _) => true), .. _services];

    /// <summary>Maps a service to the checks the predicate (check name, result) selects; replaces an earlier mapping.</summary>
    public GrpcHealthChecksOptions Map(string service, Func<string, HealthReportEntry, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(predicate);
        _services.RemoveAll(s => s.Service == service);
        _services.Add(new GrpcHealthCheckMapping(service, predicate));
        return this;
    }

    /// <summary>Maps a service to the checks registered with <paramref name="tag"/>.</summary>
    public GrpcHealthChecksOptions MapTag(string service, string tag) =>
        Map(service, (_, entry) => entry.Tags.Contains(tag));

    /// <summary>Maps a service to the checks with these names.</summary>
    public GrpcHealthChecksOptions MapChecks(string service, params string[] checkNames) =>
        Map(service, (name, _) => checkNames.Contains(name, StringComparer.Ordinal));
}

/// <summary>A health-checked service and the checks that decide its status.</summary>
public sealed record GrpcHealthCheckMapping(string Service, Func<string, HealthReportEntry, bool> Predicate);
