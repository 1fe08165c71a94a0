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
        // Never fail start-up because Redis is briefly away; commands fail fast until it is back. FailFast also means a
        // command is never queued to run after a reconnect: a PlaceOrder the client was told had failed must not run later.
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // The .NET thread pool instead of StackExchange.Redis's own scheduler threads: on the 2-core machines measured
        // (docs/benchmarks.md) its dedicated threads cost a quarter of a cached GetDeal's CPU in spinning and hand-offs.
        options.SocketManager = SocketManager.ThreadPool;
        if (!given.Contains("connecttimeout"))
        {
            options.ConnectTimeout = 3000;
        }
        if (!given.Contains("synctimeout"))
        {
            options.SyncTimeout = 2000;
        }
        // Reconnect every second while Redis is away: a restart during a sale must not cost minutes of backoff.
        options.ReconnectRetryPolicy = new LinearRetry(1000);
        return options;
    }

    public static ConnectionMultiplexer Connect(string connectionString, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        var options = CreateOptions(connectionString);
        if (!string.IsNullOrEmpty(options.ServiceName))
        {
            ReserveThreadsForSentinel();
        }
        var multiplexer = ConnectionMultiplexer.Connect(options);
        multiplexer.ConnectionFailed += (_, e) =>
            logger.LogWarning(e.Exception, "Redis connection to {EndPoint} failed: {FailureType}", e.EndPoint, e.FailureType);
        multiplexer.ConnectionRestored += (_, e) => logger.LogInformation("Redis connection to {EndPoint} restored", e.EndPoint);
        return multiplexer;
    }

    /// <summary>Pool threads each Sentinel-managed connection may take at once (see <see cref="ReserveThreadsForSentinel"/>).</summary>
    public const int SentinelThreadReserve = 16;

    private static readonly Lock ThreadReserveGate = new();

    /// <summary>
    /// While a primary is replaced, StackExchange.Redis's Sentinel support blocks thread-pool threads in synchronous
    /// calls (SwitchPrimary from its connection-failed and -restored handlers, several per connection; seen with
    /// dotnet-stack). With the pool's minimum at the core count, everything else then waits for the pool to add threads
    /// one by one: PlaceOrder stalled 10-20 s after a failover (RedisFailureInvariantTests) instead of ~1.5 s. So every
    /// multiplexer that connects through Sentinel raises the minimum by <see cref="SentinelThreadReserve"/>; the pool
    /// starts that many threads without delay when work is waiting, and none when it is not.
    /// </summary>
    private static void ReserveThreadsForSentinel()
    {
        lock (ThreadReserveGate)
        {
            ThreadPool.GetMinThreads(out var workers, out var completionPorts);
            ThreadPool.SetMinThreads(workers + SentinelThreadReserve, completionPorts);
        }
    }
}
