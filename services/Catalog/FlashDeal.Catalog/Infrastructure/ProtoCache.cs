using Google.Protobuf;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Infrastructure;

/// <summary>
/// Cache-aside for single resources: protobuf bytes under a key with a short TTL. Readers fill it after a PostgreSQL
/// read; writers delete the key after their commit. A failure is never an error: a miss, and the caller reads
/// PostgreSQL.
/// </summary>
public sealed class ProtoCache(RedisGuard redis, IOptions<CatalogOptions> options, CatalogMetrics metrics)
{
    private readonly TimeSpan _ttl = options.Value.CacheTtl;
    private readonly bool _enabled = options.Value.CacheEnabled;

    public static RedisKey ProductKey(Guid productId) => $"catalog:product:{productId}";

    public static RedisKey DealKey(Guid dealId) => $"catalog:deal:{dealId}";

    public async Task<T?> GetAsync<T>(RedisKey key, MessageParser<T> parser) where T : class, IMessage<T>
    {
        if (!_enabled)
        {
            return null;
        }
        var cached = await redis.TryAsync(db => db.StringGetAsync(key));
        var hit = cached is { Ok: true, Value.HasValue: true };
        metrics.CacheLookup(typeof(T).Name == "Deal" ? "deal" : typeof(T).Name == "Product" ? "product" : "other", hit);
        return hit ? parser.ParseFrom((byte[])cached.Value!) : null;
    }

    public Task SetAsync(RedisKey key, IMessage value) =>
        _enabled ? redis.TryAsync(db => db.StringSetAsync(key, value.ToByteArray(), _ttl)) : Task.CompletedTask;

    /// <summary>Writes <paramref name="value"/> to live <paramref name="ttl"/>; false when Redis was skipped or failed.</summary>
    public async Task<bool> WarmAsync(RedisKey key, IMessage value, TimeSpan ttl) =>
        _enabled && (await redis.TryAsync(db => db.StringSetAsync(key, value.ToByteArray(), ttl))).Ok;

    /// <summary>After a commit. Tried even while reads skip Redis: a missed delete leaves a stale entry up to the TTL.</summary>
    public Task InvalidateAsync(RedisKey key) => redis.TryAsync(db => db.KeyDeleteAsync(key), always: true);
}
