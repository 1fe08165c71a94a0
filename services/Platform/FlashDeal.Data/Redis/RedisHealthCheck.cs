using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace FlashDeal.Data;

/// <summary>Ready when the multiplexer is connected and PING answers within <see cref="Timeout"/>.</summary>
public sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context,
        CancellationToken cancellationToken = default)
    {
        var failure = context.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        if (!redis.IsConnected)
        {
            return new HealthCheckResult(failure, "Redis is not connected.");
        }
        try
        {
            // PING takes no cancellation token: bound the wait here (a paused or wedged server never answers).
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(Timeout, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"PING {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
        {
            return new HealthCheckResult(failure, $"Redis did not answer PING: {e.Message}", e);
        }
    }
}
