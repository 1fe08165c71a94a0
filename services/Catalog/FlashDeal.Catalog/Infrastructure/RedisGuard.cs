using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Infrastructure;

/// <summary>
/// Every catalog call to Redis goes through here. Redis is an accelerator for the catalog, never a dependency of a
/// read: a failed or slow command yields "unavailable" and the caller falls back to PostgreSQL. After a failure the
/// guard opens for <see cref="CatalogOptions.RedisBreakDuration"/>, and reads skip Redis meanwhile instead of each
/// waiting for a timeout (a short-circuit breaker). Writes that matter (deal config, invalidations) pass
/// <c>always: true</c> to try anyway.
/// </summary>
public sealed class RedisGuard(
    IConnectionMultiplexer redis, IOptions<CatalogOptions> options, TimeProvider time, ILogger<RedisGuard> logger)
{
    private readonly CatalogOptions _options = options.Value;
    private long _openUntil = long.MinValue;

    public IDatabase Database => redis.GetDatabase();

    public ISubscriber Subscriber => redis.GetSubscriber();

    /// <summary>False while the breaker is open or the multiplexer has no connection.</summary>
    public bool IsAvailable => redis.IsConnected && time.GetUtcNow().UtcTicks >= Interlocked.Read(ref _openUntil);

    /// <summary>Runs <paramref name="command"/>; <c>Ok</c> is false when Redis was skipped or failed.</summary>
    public async Task<RedisOutcome<T>> TryAsync<T>(Func<IDatabase, Task<T>> command, bool always = false)
    {
        if (!(always ? redis.IsConnected : IsAvailable))
        {
            return default;
        }
        try
        {
            return new RedisOutcome<T>(true, await command(redis.GetDatabase()).WaitAsync(_options.RedisTimeout));
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            Trip(e);
            return default;
        }
    }

    public async Task<bool> TryAsync(Func<IDatabase, Task> command, bool always = false) =>
        (await TryAsync(async db =>
        {
            await command(db);
            return true;
        }, always)).Ok;

    public static bool IsRedisFailure(Exception e) =>
        e is RedisConnectionException or RedisTimeoutException or TimeoutException or RedisServerException
            or ObjectDisposedException;

    private void Trip(Exception e)
    {
        var now = time.GetUtcNow().UtcTicks;
        var previous = Interlocked.Exchange(ref _openUntil, now + _options.RedisBreakDuration.Ticks);
        // One warning per outage (the breaker was closed), the rest at Debug: a down Redis must not flood the log.
        if (previous <= now)
        {
            logger.LogWarning("Redis unavailable ({Error}); serving from PostgreSQL for at least {Break}",
                e.GetType().Name + ": " + e.Message, _options.RedisBreakDuration);
        }
        else
        {
            logger.LogDebug(e, "Redis command failed while the breaker was open");
        }
    }
}

/// <summary>A Redis result, or <c>Ok = false</c> when Redis was unavailable.</summary>
public readonly record struct RedisOutcome<T>(bool Ok, T Value);
