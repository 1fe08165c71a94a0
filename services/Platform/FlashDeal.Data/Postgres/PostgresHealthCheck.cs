using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace FlashDeal.Data;

/// <summary>Ready when a pooled connection answers <c>SELECT 1</c> within <see cref="Timeout"/>.</summary>
public sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context,
        CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            var status = context.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
            return new HealthCheckResult(status, $"PostgreSQL did not answer: {e.Message}", e);
        }
    }
}
