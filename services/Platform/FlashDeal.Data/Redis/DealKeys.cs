using StackExchange.Redis;

namespace FlashDeal.Data.Redis;

/// <summary>
/// The Redis contract between catalog (writes each deal's config and initial stock) and orders (reserves against it):
/// docs/catalog.md "Redis keys" and docs/orders.md. Every key of one deal carries the hash tag <c>{deal:&lt;id&gt;}</c>,
/// so a script touching several of them runs on one Redis Cluster node.
/// </summary>
public static class DealKeys
{
    /// <summary>Pub/sub channel for <c>deal-updated</c> messages.</summary>
    public const string UpdatesChannel = "flashdeal:deals";

    public static string HashTag(Guid dealId) => $"{{deal:{dealId:D}}}";

    /// <summary>HASH: the deal's terms (see <see cref="DealConfigFields"/>).</summary>
    public static RedisKey Config(Guid dealId) => $"{HashTag(dealId)}:config";

    /// <summary>STRING: remaining units. Created by catalog (SET NX), then owned by the order path.</summary>
    public static RedisKey Stock(Guid dealId) => $"{HashTag(dealId)}:stock";
}

/// <summary>Field names of the <c>{deal:&lt;id&gt;}:config</c> hash.</summary>
public static class DealConfigFields
{
    public const string DealId = "deal_id";
    public const string ProductId = "product_id";
    public const string ProductName = "product_name";
    public const string Title = "title";
    public const string PriceCents = "price_cents";
    public const string Currency = "currency";
    public const string Stock = "stock";
    public const string PerUserLimit = "per_user_limit";
    public const string StartMs = "start_ms";
    public const string EndMs = "end_ms";
    public const string Cancelled = "cancelled";
    public const string Version = "version";
}
