using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace FlashDeal.Orders.Persistence;

/// <summary>What the stream consumer last saw: lag, pending entries, failures. Read by the health check.</summary>
public sealed class OrderStreamStatus(TimeProvider time)
{
    private readonly Lock _gate = new();

    public int Streams { get; private set; }

    public long Lag { get; private set; }

    public long Pending { get; private set; }

    public long PersistedTotal { get; private set; }

    public DateTimeOffset? FailingSince { get; private set; }

    public string? LastError { get; private set; }

    public void Measured(int streams, long lag, long pending)
    {
        lock (_gate)
        {
            (Streams, Lag, Pending) = (streams, lag, pending);
        }
    }

    public void Persisted(int count)
    {
        lock (_gate)
        {
            PersistedTotal += count;
            FailingSince = null;
            LastError = null;
        }
    }

    public void Failed(string error)
    {
        lock (_gate)
        {
            FailingSince ??= time.GetUtcNow();
            LastError = error;
        }
    }

    public IReadOnlyDictionary<string, object> ToData()
    {
        lock (_gate)
        {
            var data = new Dictionary<string, object>
            {
                ["streams"] = Streams,
                ["lag"] = Lag,
                ["pending"] = Pending,
                ["persisted_total"] = PersistedTotal,
            };
            if (FailingSince is { } since)
            {
                data["failing_since"] = since.ToString("O");
                data["last_error"] = LastError ?? "";
            }
            return data;
        }
    }
}

/// <summary>
/// "order-stream": Healthy while the consumer keeps up; Degraded (still serving: placements do not need PostgreSQL)
/// when writes fail or the lag passes Orders:Stream:DegradedLag. The data carries lag, pending and the last error.
/// </summary>
public sealed class OrderStreamHealthCheck(OrderStreamStatus status, IOptions<OrdersOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = status.ToData();
        var result = status.FailingSince is not null
            ? HealthCheckResult.Degraded($"Writing orders to PostgreSQL fails: {status.LastError}", data: data)
            : status.Lag > options.Value.Stream.DegradedLag
                ? HealthCheckResult.Degraded($"{status.Lag} orders wait for PostgreSQL", data: data)
                : HealthCheckResult.Healthy($"lag {status.Lag}", data);
        return Task.FromResult(result);
    }
}
