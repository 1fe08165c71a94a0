namespace FlashDeal.Orders.Coupons;

/// <summary>The "Orders:Coupons" configuration section. Redis timeouts, durability and stream settings are the orders'.</summary>
public sealed class CouponsOptions
{
    public const string Section = "Orders:Coupons";

    /// <summary>
    /// How long a PlaceOrder's hold keeps a coupon from other placements. Far longer than Orders:RedisTimeout, so a hold
    /// older than this belongs to a placement that gave up (or died): the next placement settles it.
    /// </summary>
    public TimeSpan HoldLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a campaign's Redis keys outlive its redeem_before (replays, late cancellations).</summary>
    public TimeSpan KeyRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>redeem_before when CreateCampaign leaves it out: end_time plus this.</summary>
    public TimeSpan DefaultRedeemWindow { get; set; } = TimeSpan.FromDays(7);
}
