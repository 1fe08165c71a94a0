using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.BestSellers;

/// <summary>One ranking entry: a product and the units sold in the window.</summary>
public readonly record struct RankedProduct(Guid ProductId, long UnitsSold);

/// <summary>A ranking and when it was computed.</summary>
public sealed record Ranking(IReadOnlyList<RankedProduct> Entries, DateTime ComputeTime);

/// <summary>The best-seller rankings in Redis (see <see cref="BestSellerKeys"/>).</summary>
public sealed class BestSellers(RedisGuard redis, IOptions<CatalogOptions> options, TimeProvider time)
{
    private static readonly RedisScript RecordScript = CatalogScripts.Load("BestSellers", "best_seller_record");
    private static readonly RedisScript ViewScript = CatalogScripts.Load("BestSellers", "best_seller_view");
    private readonly CatalogOptions _options = options.Value;

    /// <summary>Counts a paid order without an order id (no protection against counting it twice).</summary>
    public Task<bool> RecordPaidAsync(Guid productId, int quantity) =>
        RecordPaidAsync(productId, quantity, time.GetUtcNow(), "anonymous:" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Counts <paramref name="quantity"/> units of a paid order into every ranking, once per <paramref name="orderId"/>.
    /// False when the order had been counted already. Throws when Redis fails (the caller retries).
    /// </summary>
    public async Task<bool> RecordPaidAsync(Guid productId, int quantity, DateTimeOffset paidAt, string orderId)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quantity);
        ArgumentException.ThrowIfNullOrEmpty(orderId);
        var result = await RecordScript.EvaluateAsync(redis.Database,
            [
                BestSellerKeys.Seen(orderId), BestSellerKeys.AllTime,
                BestSellerKeys.FiveMinuteBucket(paidAt), BestSellerKeys.HourBucket(paidAt),
            ],
            [
                Ids.Format(productId), quantity, (long)BestSellerKeys.SeenTtl.TotalSeconds,
                (long)BestSellerKeys.FiveMinuteBucketTtl.TotalSeconds, (long)BestSellerKeys.HourBucketTtl.TotalSeconds,
            ]).WaitAsync(_options.RedisTimeout);
        return (int)result == 1;
    }

    /// <summary>The top <paramref name="count"/> of a window, or null when Redis is unavailable.</summary>
    public async Task<Ranking?> TopAsync(BestSellerWindow window, int count)
    {
        var now = time.GetUtcNow();
        if (window == BestSellerWindow.AllTime)
        {
            var top = await redis.TryAsync(db => db.SortedSetRangeByRankWithScoresAsync(
                BestSellerKeys.AllTime, 0, count - 1, Order.Descending));
            return top.Ok ? new Ranking(Parse(top.Value.Select(e => (e.Element, e.Score))), now.UtcDateTime) : null;
        }
        var keys = new[] { BestSellerKeys.View(window) }.Concat(BestSellerKeys.Buckets(window, now)).ToArray();
        var view = await redis.TryAsync(db => ViewScript.EvaluateAsync(db, keys,
            [(long)_options.BestSellerViewTtl.TotalMilliseconds, count]));
        if (!view.Ok)
        {
            return null;
        }
        var reply = (RedisResult[])view.Value!;
        var flat = (RedisValue[])reply[1]!;
        var pairs = Enumerable.Range(0, flat.Length / 2).Select(i => (flat[2 * i], (double)flat[2 * i + 1]));
        return new Ranking(Parse(pairs), (now - TimeSpan.FromMilliseconds((long)reply[0])).UtcDateTime);
    }

    private static List<RankedProduct> Parse(IEnumerable<(RedisValue Member, double Score)> entries) =>
        entries.Where(e => Ids.TryParse(e.Member, out _))
            .Select(e => new RankedProduct(Guid.Parse((string)e.Member!), (long)e.Score))
            .ToList();
}
