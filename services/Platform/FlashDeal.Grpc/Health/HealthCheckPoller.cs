using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace FlashDeal.Grpc;

/// <summary>Runs the ASP.NET Core health checks periodically and writes the mapped services' statuses.</summary>
internal sealed class HealthCheckPoller(
    HealthCheckService checks,
    GrpcHealthStatus status,
    IOptions<GrpcHealthChecksOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<HealthCheckPoller> logger) : BackgroundService
{
    private readonly TaskCompletionSource _firstRun = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _stopping;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(status.EnterShutdown);
        foreach (var mapping in options.Value.Services)
        {
            if (status.Get(mapping.Service) is null)
            {
                status.Set(mapping.Service, ServingStatus.NotServing);
            }
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _firstRun.Task.WaitAsync(options.Value.StartupWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A check that hangs must not hold up startup; it keeps running in the background.
            logger.LogWarning("Health checks gave no result within {StartupWait}; services stay NOT_SERVING until they do",
                options.Value.StartupWait);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Period);
        try
        {
            do
            {
                await EvaluateAsync(stoppingToken).ConfigureAwait(false);
                _firstRun.TrySetResult();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task EvaluateAsync(CancellationToken cancellationToken)
    {
        var mappings = options.Value.Services;
        HealthReport report;
        try
        {
            report = await checks.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Health checks failed to run; reporting every service NOT_SERVING");
            foreach (var mapping in mappings)
            {
                status.Set(mapping.Service, ServingStatus.NotServing);
            }
            return;
        }
        foreach (var mapping in mappings)
        {
            status.Set(mapping.Service, ToServingStatus(report, mapping));
        }
    }

    internal static ServingStatus ToServingStatus(HealthReport report, GrpcHealthCheckMapping mapping) =>
        report.Entries.Any(e => mapping.Predicate(e.Key, e.Value) && e.Value.Status == HealthStatus.Unhealthy)
            ? ServingStatus.NotServing
            : ServingStatus.Serving;

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
    }
}
