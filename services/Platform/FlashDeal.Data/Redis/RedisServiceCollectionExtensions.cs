using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace FlashDeal.Data;

public static class RedisServiceCollectionExtensions
{
    public const string ConnectionStringName = "Redis";

    /// <summary>
    /// Registers one shared <see cref="IConnectionMultiplexer"/> from <c>ConnectionStrings:Redis</c> (StackExchange.Redis
    /// syntax, e.g. <c>127.0.0.1:6379,password=…</c>) and a "redis" health check tagged "ready". The service starts even
    /// when Redis is down; the multiplexer keeps reconnecting in the background.
    /// </summary>
    public static IServiceCollection AddRedis(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionStringName} is not set (environment: ConnectionStrings__{ConnectionStringName}).");
        }
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
            Connect(connectionString, sp.GetService<ILoggerFactory>()?.CreateLogger("FlashDeal.Data.Redis")));
        services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", HealthStatus.Unhealthy, ["ready"], TimeSpan.FromSeconds(5));
        return services;
    }

    /// <summary>Parses a connection string and fills in FlashDeal's defaults where it says nothing.</summary>
    public static ConfigurationOptions CreateOptions(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        var given = connectionString.Split(',')
            .Select(part => part.Split('=', 2))
            .Where(kv => kv.Length == 2)
            .Select(kv => kv[0].Trim().ToLowerInvariant())
            .ToHashSet();
        // Never fail start-up because Redis is briefly away; commands fail fast until it is back.
        options.AbortOnConnectFail = false;
        if (!given.Contains("connecttimeout"))
        {
            options.ConnectTimeout = 3000;
        }
        if (!given.Contains("synctimeout"))
        {
            options.SyncTimeout = 2000;
        }
        // 1.2.6 retries at ConnectTimeout intervals by default: too slow to recover from a restart during a sale.
        options.ReconnectRetryPolicy = new LinearRetry(1000);
        return options;
    }

    public static ConnectionMultiplexer Connect(string connectionString, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        var multiplexer = ConnectionMultiplexer.Connect(CreateOptions(connectionString));
        multiplexer.ConnectionFailed += (_, e) =>
            logger.LogWarning(e.Exception, "Redis connection to {EndPoint} failed: {FailureType}", e.EndPoint, e.FailureType);
        multiplexer.ConnectionRestored += (_, e) => logger.LogInformation("Redis connection to {EndPoint} restored", e.EndPoint);
        return multiplexer;
    }
}
