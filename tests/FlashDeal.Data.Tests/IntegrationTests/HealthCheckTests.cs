using System.Diagnostics;
using FlashDeal.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlashDeal.Data.Tests.IntegrationTests;

/// <summary>Stops and restarts the collection's shared servers: safe because classes of one collection never overlap.</summary>
[Collection(DataServers.Name)]
public sealed class HealthCheckTests(PostgresDatabase database, RedisServer redis) : IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task PostgresCheckFailsWhileTheServerIsDownAndRecoversAfterRestart()
    {
        await using var services = Services();
        var health = services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await ReadyAsync(health)).Entries["postgres"].Status);

        await database.Server.StopAsync();
        try
        {
            var down = await ReadyAsync(health);
            Assert.Equal(HealthStatus.Unhealthy, down.Entries["postgres"].Status);
            Assert.Equal(HealthStatus.Healthy, down.Entries["redis"].Status);
        }
        finally
        {
            await database.Server.StartAsync();
        }

        await WaitUntilHealthyAsync(health, "postgres");
    }

    [Fact]
    public async Task RedisCheckFailsWhileTheServerIsDownAndRecoversAfterRestart()
    {
        await using var services = Services();
        var health = services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await ReadyAsync(health)).Entries["redis"].Status);

        await redis.StopAsync();
        try
        {
            var down = await ReadyAsync(health);
            Assert.Equal(HealthStatus.Unhealthy, down.Entries["redis"].Status);
            Assert.Equal(HealthStatus.Healthy, down.Entries["postgres"].Status);
        }
        finally
        {
            await redis.StartAsync();
        }

        await WaitUntilHealthyAsync(health, "redis");
    }

    [Fact]
    public async Task RedisCheckFailsWhileTheServerIsPaused()
    {
        await using var services = Services();
        var health = services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await ReadyAsync(health)).Entries["redis"].Status);

        await redis.PauseAsync(RedisHealthCheck.Timeout + TimeSpan.FromSeconds(1));

        var paused = await ReadyAsync(health);
        Assert.Equal(HealthStatus.Unhealthy, paused.Entries["redis"].Status);
        await WaitUntilHealthyAsync(health, "redis");
    }

    [Fact]
    public async Task BothChecksAreTaggedReady()
    {
        await using var services = Services();
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value;

        Assert.Equal(["postgres", "redis"], options.Registrations.Where(r => r.Tags.Contains("ready")).Select(r => r.Name).Order());
    }

    private ServiceProvider Services()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
        }).Build();
        return new ServiceCollection()
            .AddLogging()
            .AddPostgres(configuration)
            .AddRedis(configuration)
            .BuildServiceProvider();
    }

    private static Task<HealthReport> ReadyAsync(HealthCheckService health) =>
        health.CheckHealthAsync(r => r.Tags.Contains("ready"));

    private static async Task WaitUntilHealthyAsync(HealthCheckService health, string name)
    {
        var waited = Stopwatch.StartNew();
        HealthReportEntry entry;
        while ((entry = (await ReadyAsync(health)).Entries[name]).Status != HealthStatus.Healthy)
        {
            Assert.True(waited.Elapsed < RecoveryLimit, $"{name} still {entry.Status} after {RecoveryLimit}: {entry.Description}");
            await Task.Delay(100);
        }
    }
}
