namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Every metric FlashDeal defines itself, named once: the services create their instruments with these names (the two
/// recorded below ServiceDefaults, in FlashDeal.Data and FlashDeal.Security, own their constants and are referenced
/// here), and the
/// Prometheus rules, the dashboards and their tests refer to the Prometheus form (dots become underscores, counters end
/// in <c>_total</c>, seconds in <c>_seconds</c>; docs/observability.md lists them with their labels). Labels stay
/// bounded: outcomes, reasons, policies and check names are closed sets, a deal id appears only for a deal that is
/// live (at most a handful at a time), and no label ever holds a user.
/// </summary>
public static class FlashDealMetrics
{
    /// <summary>The meters of every FlashDeal service (one per service or concern).</summary>
    public const string MeterPrefix = "FlashDeal.";

    // --- every service --------------------------------------------------------------------------------------------
    /// <summary>Histogram (s) of every gRPC and REST call of an API, by rpc.method, transport, code and outcome.</summary>
    public const string RpcServerDuration = "flashdeal.rpc.server.duration";

    /// <summary>Gauge: 1 while a ready check (postgres, redis, …) passes, 0 when it fails, by check.</summary>
    public const string HealthCheckStatus = "flashdeal.health.check.status";

    /// <summary>Counter of calls refused by a per-replica rate limit, by policy and partition (user, address).</summary>
    public const string RateLimitRefused = "flashdeal.rate_limit.refused";

    /// <summary>Counter of bearer tokens refused, by reason (ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_INVALID, …).</summary>
    public const string TokensRejected = "flashdeal.auth.tokens.rejected";

    /// <summary>Histogram (s) of Redis script calls (EVALSHA) as the client sees them, by script and outcome.</summary>
    public const string RedisScriptDuration = FlashDeal.Data.Redis.RedisScript.DurationMetric;

    /// <summary>Counter of validated-token cache lookups, by result (hit, miss).</summary>
    public const string TokenCacheLookups = FlashDeal.Security.AccessTokenHandler.CacheLookupsMetric;

    // --- orders -----------------------------------------------------------------------------------------------------
    /// <summary>Counter of PlaceOrder answers by outcome (ACCEPTED, REPLAYED, a refusal reason, UNAVAILABLE),
    /// strategy, and deal_id for answers about a live deal (else "").</summary>
    public const string Placements = "flashdeal.orders.placements";

    /// <summary>Counter of ClaimCoupon answers by outcome (CLAIMED, REPLAYED, a CouponErrorReason, UNAVAILABLE); no
    /// campaign id.</summary>
    public const string CouponClaims = "flashdeal.coupons.claims";

    /// <summary>Counter of PlaceOrder calls answered SOLD_OUT from the in-process flag, without Redis.</summary>
    public const string SoldOutFlagHits = "flashdeal.orders.sold_out_flag_hits";

    /// <summary>Counter of order transitions after placement, by transition (paid, cancelled, expired).</summary>
    public const string OrderTransitions = "flashdeal.orders.transitions";

    /// <summary>Counter of order stream entries written to PostgreSQL and acknowledged.</summary>
    public const string StreamPersisted = "flashdeal.orders.stream.persisted";

    /// <summary>Histogram (s) of one persistence batch (stream entries to PostgreSQL).</summary>
    public const string StreamBatchDuration = "flashdeal.orders.stream.batch.duration";

    /// <summary>Gauge: order stream entries not yet in PostgreSQL (unread plus pending), over the live streams.</summary>
    public const string StreamLag = "flashdeal.orders.stream.lag";

    /// <summary>Gauge: order stream entries delivered to a consumer and not yet acknowledged.</summary>
    public const string StreamPending = "flashdeal.orders.stream.pending";

    /// <summary>Counter of stream entries set aside as dead letters (undecodable, or failing past the retry limit).</summary>
    public const string StreamDeadLetters = "flashdeal.orders.stream.dead_letters";

    /// <summary>Counter of domain events added to an event stream by the orders' event relay, by stream.</summary>
    public const string EventsPublished = "flashdeal.orders.events.published";

    /// <summary>Gauge: outbox events not yet published to their Redis stream (docs/events.md).</summary>
    public const string EventRelayLag = "flashdeal.orders.events.relay.lag";

    // --- catalog ----------------------------------------------------------------------------------------------------
    /// <summary>Gauge: units left of each live deal, by deal_id (read from Redis every second).</summary>
    public const string DealStockRemaining = "flashdeal.deal.stock.remaining";

    /// <summary>Gauge: units a live deal started with, by deal_id.</summary>
    public const string DealStockInitial = "flashdeal.deal.stock.initial";

    /// <summary>Gauge (s): from a live deal's start to the moment it was seen sold out, by deal_id.</summary>
    public const string DealSellOutTime = "flashdeal.deal.sell_out.time";

    /// <summary>Counter of catalog read-cache lookups, by cache (deal, product, …) and result (hit, miss).</summary>
    public const string CacheLookups = "flashdeal.catalog.cache.lookups";
}
