using StackExchange.Redis;

namespace FlashDeal.Orders.Coupons;

/// <summary>
/// Redis keys of the coupon give-aways (docs/coupons.md). Every key of one campaign carries the hash tag
/// <c>{coupon:&lt;campaign_id&gt;}</c>, so claim_coupon.lua and coupon_redemption.lua each run inside one Cluster slot; the
/// registry is global and touched outside scripts only.
/// </summary>
public static class CouponKeys
{
    /// <summary>SET of campaign ids whose event stream the consumer drains.</summary>
    public const string StreamRegistry = "flashdeal:coupons:streams";

    /// <summary>Consumer group that drains the per-campaign event streams into PostgreSQL.</summary>
    public const string ConsumerGroup = "coupons-postgres";

    public static string HashTag(Guid campaignId) => $"{{coupon:{campaignId:D}}}";

    /// <summary>HASH: the campaign's terms (<see cref="CampaignConfigFields"/>).</summary>
    public static RedisKey Config(Guid campaignId) => $"{HashTag(campaignId)}:config";

    /// <summary>STRING: coupons not yet claimed. Written once with SET NX, then only decremented by claim_coupon.lua.</summary>
    public static RedisKey Remaining(Guid campaignId) => $"{HashTag(campaignId)}:remaining";

    /// <summary>HASH user_id → "&lt;idempotency_key&gt;:&lt;n&gt;": who claimed which coupon number.</summary>
    public static RedisKey Claims(Guid campaignId) => $"{HashTag(campaignId)}:claims";

    /// <summary>HASH: coupon number <paramref name="number"/> (<see cref="CouponFields"/>), the truth for its state.</summary>
    public static RedisKey Coupon(Guid campaignId, int number) => $"{HashTag(campaignId)}:coupon:{number}";

    /// <summary>STREAM of coupon snapshots (claim, redeem, release), drained into PostgreSQL.</summary>
    public static RedisKey Events(Guid campaignId) => $"{HashTag(campaignId)}:events";
}

/// <summary>Field names of a campaign's <c>:config</c> hash.</summary>
public static class CampaignConfigFields
{
    public const string Name = "name";
    public const string PercentOff = "percent_off";
    public const string AmountOffCents = "amount_off_cents";
    public const string Currency = "currency";
    public const string Total = "total";
    public const string StartMs = "start_ms";
    public const string EndMs = "end_ms";
    public const string RedeemBeforeMs = "redeem_before_ms";
    public const string DealId = "deal_id";
}

/// <summary>Field names of a coupon hash and of the coupon stream entries, named after the proto fields.</summary>
public static class CouponFields
{
    public const string CouponId = "coupon_id";
    public const string CampaignId = "campaign_id";
    public const string UserId = "user_id";
    public const string Status = "status";
    public const string ClaimMs = "claim_ms";
    public const string OrderId = "order_id";
    public const string RedeemMs = "redeem_ms";
    public const string CampaignName = "campaign_name";
    public const string PercentOff = "percent_off";
    public const string AmountOffCents = "amount_off_cents";
    public const string Currency = "currency";
    public const string RedeemBeforeMs = "redeem_before_ms";
    public const string DealId = "deal_id";
    public const string IdempotencyKey = "idempotency_key";
    public const string Version = "version";
    public const string Holder = "holder";
    public const string HeldUntilMs = "held_until_ms";

    /// <summary>Stream entries of a release only: the order the coupon left, when it was redeemed there, when released.</summary>
    public const string ReleasedOrderId = "released_order_id";
    public const string ReleasedRedeemMs = "released_redeem_ms";
    public const string ReleaseMs = "release_ms";
}
