using System.Collections.Concurrent;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Products;

/// <summary>
/// Pages of ListProducts per filter and position, in memory for <see cref="CatalogOptions.ProductPageTtl"/>: the
/// product lists a sale's visitors open and page through, answered without PostgreSQL (at most 1,000 pages are held). Every product write drops all pages — this
/// replica's directly, the others' through a <c>product-updated</c> message on <see cref="UpdatesChannel"/> — so a
/// write shows at once on every replica that hears the message, and within one TTL on one that does not (Redis down).
/// A page read before a write and stored after it is discarded. Off with the TTL at zero or the read cache off.
/// <para>
/// Each filter's count of matching products (total_size) is held the same way, so a hot listing costs one
/// <c>count(*)</c> per filter and replica per TTL (and after each write), not one per request.
/// </para>
/// </summary>
public sealed class HotProductPages(IConnectionMultiplexer redis, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<HotProductPages> logger) : IHostedService
{
    /// <summary>Pub/sub channel of <c>product-updated</c> messages (the product id as text).</summary>
    public const string UpdatesChannel = "flashdeal:products";

    private const int MaxPages = 1_000;
    private readonly TimeSpan _ttl = options.Value.CacheEnabled ? options.Value.ProductPageTtl : TimeSpan.Zero;
    private readonly ConcurrentDictionary<Key, Page> _pages = new();
    private long _version;

    private readonly record struct Key(string Query, string Category, bool IncludeArchived, int Limit, PageCursor<DateTime>? After);

    private readonly ConcurrentDictionary<ProductFilter, Count> _counts = new();

    private sealed record Page(List<Product> Products, long ReadAt);

    private sealed record Count(int Value, long ReadAt);

    public bool Enabled => _ttl > TimeSpan.Zero;

    /// <summary>The page (never changed by callers), or null when none is young enough.</summary>
    public List<Product>? TryGet(ProductFilter filter, PageCursor<DateTime>? after, int limit)
    {
        if (Enabled && _pages.TryGetValue(new Key(filter.Query, filter.Category, filter.IncludeArchived, limit, after), out var page)
            && time.GetElapsedTime(page.ReadAt) < _ttl)
        {
            return page.Products;
        }
        return null;
    }

    /// <summary>The filter's count of matching products, or null when none is young enough.</summary>
    public int? TryGetCount(ProductFilter filter) =>
        Enabled && _counts.TryGetValue(filter, out var count) && time.GetElapsedTime(count.ReadAt) < _ttl ? count.Value : null;

    public void SetCount(ProductFilter filter, int count, long version)
    {
        if (!Enabled || version != Version)
        {
            return;
        }
        if (_counts.Count >= MaxPages)
        {
            _counts.Clear();
        }
        _counts[filter] = new Count(count, time.GetTimestamp());
        if (version != Version)
        {
            _counts.Clear();
        }
    }

    /// <summary>What to pass to <see cref="Set"/> after reading a page: writes after this moment discard it.</summary>
    public long Version => Interlocked.Read(ref _version);

    public void Set(ProductFilter filter, PageCursor<DateTime>? after, int limit, List<Product> products, long version)
    {
        if (!Enabled || version != Version)
        {
            return;
        }
        if (_pages.Count >= MaxPages)
        {
            _pages.Clear();
        }
        _pages[new Key(filter.Query, filter.Category, filter.IncludeArchived, limit, after)] = new Page(products, time.GetTimestamp());
        if (version != Version)
        {
            _pages.Clear(); // a write landed while storing
        }
    }

    /// <summary>A product was written: drop every page and count.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _version);
        _pages.Clear();
        _counts.Clear();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(UpdatesChannel), (_, _) => Invalidate());
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            logger.LogWarning("Subscribing to product changes failed; product pages live {Ttl} at most: {Error}", _ttl, e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored -= OnConnectionRestored;
        return Task.CompletedTask;
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Invalidate();
}
