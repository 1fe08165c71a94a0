using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class GrpcHealthStatusTests
{
    [Fact]
    public async Task WatchYieldsTheCurrentStatusThenEachChange()
    {
        var health = new GrpcHealthStatus();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await using var watch = health.WatchAsync("svc", cts.Token).GetAsyncEnumerator(cts.Token);

        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(ServingStatus.ServiceUnknown, watch.Current);
        health.Set("svc", ServingStatus.Serving);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(ServingStatus.Serving, watch.Current);
        health.Set("svc", ServingStatus.NotServing);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(ServingStatus.NotServing, watch.Current);
        health.Remove("svc");
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(ServingStatus.ServiceUnknown, watch.Current);
    }

    [Fact]
    public async Task WatchEndsWhenCancelled()
    {
        var health = new GrpcHealthStatus();
        health.Set("", ServingStatus.Serving);
        using var cts = new CancellationTokenSource();
        var seen = new List<ServingStatus>();
        var watching = Task.Run(async () =>
        {
            await foreach (var status in health.WatchAsync("", cts.Token))
            {
                seen.Add(status);
                await cts.CancelAsync();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching);
        Assert.Equal([ServingStatus.Serving], seen);
    }

    [Fact]
    public void ShutdownTurnsEverythingNotServingAndKeepsItSo()
    {
        var health = new GrpcHealthStatus();
        health.Set("", ServingStatus.Serving);
        health.Set("a", ServingStatus.Serving);

        health.EnterShutdown();
        health.Set("a", ServingStatus.Serving);
        health.Set("b", ServingStatus.Serving);

        Assert.True(health.IsShuttingDown);
        Assert.All(health.Snapshot().Values, s => Assert.Equal(ServingStatus.NotServing, s));
        Assert.Equal(3, health.Snapshot().Count);
    }

    [Fact]
    public void ServiceUnknownCannotBeSetAndUnknownServicesHaveNoStatus()
    {
        var health = new GrpcHealthStatus();
        Assert.Throws<ArgumentException>(() => health.Set("a", ServingStatus.ServiceUnknown));
        Assert.Null(health.Get("a"));
        Assert.False(health.Remove("a"));
    }

    [Theory]
    [InlineData(HealthStatus.Healthy, ServingStatus.Serving)]
    [InlineData(HealthStatus.Degraded, ServingStatus.Serving)]
    [InlineData(HealthStatus.Unhealthy, ServingStatus.NotServing)]
    public void CheckResultsMapToServingStatus(HealthStatus result, ServingStatus expected)
    {
        var options = new GrpcHealthChecksOptions().MapTag("orders", "db");
        var report = Report(("redis", result, "db"), ("cache", HealthStatus.Healthy, "cache"));
        var orders = options.Services.Single(s => s.Service == "orders");
        Assert.Equal(expected, HealthCheckPoller.ToServingStatus(report, orders));
    }

    [Fact]
    public void OnlyTheMappedChecksDecideAServiceWhileOverallCoversAll()
    {
        var options = new GrpcHealthChecksOptions().MapChecks("catalog", "postgres");
        var report = Report(("postgres", HealthStatus.Healthy, "db"), ("redis", HealthStatus.Unhealthy, "db"));

        Assert.Equal(["", "catalog"], options.Services.Select(s => s.Service));
        Assert.Equal(ServingStatus.Serving, HealthCheckPoller.ToServingStatus(report, options.Services[1]));
        Assert.Equal(ServingStatus.NotServing, HealthCheckPoller.ToServingStatus(report, options.Services[0]));
    }

    [Fact]
    public void MappingTheOverallServiceReplacesTheDefault()
    {
        var options = new GrpcHealthChecksOptions().MapTag("", "ready");
        var report = Report(("redis", HealthStatus.Unhealthy, "live"));

        Assert.Equal(ServingStatus.Serving, HealthCheckPoller.ToServingStatus(report, options.Services.Single()));
    }

    private static HealthReport Report(params (string Name, HealthStatus Status, string Tag)[] entries) =>
        new(entries.ToDictionary(e => e.Name,
            e => new HealthReportEntry(e.Status, null, TimeSpan.Zero, null, null, [e.Tag])), TimeSpan.Zero);
}
