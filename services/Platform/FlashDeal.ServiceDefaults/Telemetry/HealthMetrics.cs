using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// The ready checks as a gauge (flashdeal.health.check.status by check: 1 healthy, 0.5 degraded, 0 unhealthy), fed by
/// the health check publisher every <c>Service:HealthCheckPeriod</c>: what "Redis down for 30 s" and "PostgreSQL
/// unreachable" alerts watch, from inside each replica, with or without an exporter beside the data stores.
/// </summary>
public sealed class HealthMetrics : IHealthCheckPublisher
{
    private readonly ConcurrentDictionary<string, double> _status = new(StringComparer.Ordinal);

    public HealthMetrics(IMeterFactory meters)
    {
        meters.Create("FlashDeal.Health").CreateObservableGauge(FlashDealMetrics.HealthCheckStatus,
            () => _status.Select(e => new Measurement<double>(e.Value, new KeyValuePair<string, object?>("check", e.Key))),
            description: "1 while a ready check passes, 0.5 degraded, 0 failing, by check.");
    }

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        foreach (var (name, entry) in report.Entries)
        {
            _status[name] = entry.Status switch
            {
                HealthStatus.Healthy => 1,
                HealthStatus.Degraded => 0.5,
                _ => 0,
            };
        }
        return Task.CompletedTask;
    }
}
