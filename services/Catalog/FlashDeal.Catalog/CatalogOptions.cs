namespace FlashDeal.Catalog;

/// <summary>The "Catalog" configuration section. Defaults suit production; tests shorten the intervals.</summary>
public sealed class CatalogOptions
{
    public const string Section = "Catalog";

    /// <summary>How long a product or deal stays in the Redis read cache (writes delete it at once).</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>False turns the product/deal read cache off (every read goes to PostgreSQL): for the cached-vs-uncached
    /// benchmark and for diagnosing stale data. Writes still delete cached entries, so turning it back on is safe.</summary>
    public bool CacheEnabled { get; set; } = true;

    /// <summary>
    /// GetDeal answers from an in-process copy of the deal and its stock reading at most this old (the clock still moves
    /// on; this replica's writes drop the copy at once). Zero turns it off; so does <see cref="CacheEnabled"/> = false.
    /// </summary>
    public TimeSpan LocalReadTtl { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// ListDeals for upcoming, live and sold-out deals answers from the hot deal list in memory, reloaded this often
    /// (and at once after any replica's deal write). Zero turns it off; so does <see cref="CacheEnabled"/> = false.
    /// </summary>
    public TimeSpan HotListRefresh { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The first page of ListProducts for a filter is kept in memory this long (this replica's product writes and any
    /// replica's product-updated message drop it). Zero turns it off; so does <see cref="CacheEnabled"/> = false.
    /// </summary>
    public TimeSpan ProductPageTtl { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for one Redis command on a read path before falling back to PostgreSQL.</summary>
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>After a Redis failure, reads skip Redis this long instead of each waiting for a timeout.</summary>
    public TimeSpan RedisBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often one shared poller per watched deal reads its remaining stock.</summary>
    public TimeSpan WatchPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Poll interval while Redis is unavailable (each poll then reads PostgreSQL).</summary>
    public TimeSpan WatchFallbackPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A WatchDeal stream that has sent nothing for this long gets a heartbeat (checked on its deal's poller ticks), so
    /// idle timeouts between client and service (Kong's read timeout; load balancers: AWS ALB 60 s, NLB 350 s, Azure
    /// 4 min by default) never cut a quiet stream. Keep it well under the shortest idle timeout on the path.
    /// </summary>
    public TimeSpan WatchHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the warmer rewrites the Redis config of deals that open soon or are open.</summary>
    public TimeSpan WarmInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each open deal's stock is read for the per-deal gauges (zero turns the monitor off).</summary>
    public TimeSpan StockMetricsInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// This long before a deal opens, every replica writes its GetDeal cache entry (living past the opening) once a
    /// second, so the first reads at the opening second are cache hits. Zero turns it off; so does
    /// <see cref="CacheEnabled"/> = false.
    /// </summary>
    public TimeSpan WarmBefore { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deals starting within this horizon are warmed.</summary>
    public TimeSpan WarmAhead { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Deal keys in Redis expire this long after the deal's end_time.</summary>
    public TimeSpan DealKeyRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often the paid-orders stream is read for best sellers.</summary>
    public TimeSpan PaidOrdersPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Paid-order entries left unacknowledged this long by another replica are claimed.</summary>
    public TimeSpan PaidOrdersClaimIdle { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the best-seller rankings are copied to PostgreSQL.</summary>
    public TimeSpan BestSellerBackupInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many entries of each ranking the backup keeps.</summary>
    public int BestSellerBackupSize { get; set; } = 1000;

    /// <summary>A computed best-seller window is reused this long (the response's compute_time tells its age).</summary>
    public TimeSpan BestSellerViewTtl { get; set; } = TimeSpan.FromSeconds(5);
}
