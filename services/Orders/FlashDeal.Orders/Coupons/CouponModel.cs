using System.Globalization;
using FlashDeal.Contracts.Coupons.V1;

namespace FlashDeal.Orders.Coupons;

/// <summary>A campaign as stored in <c>orders.campaigns</c> and, for the hot path, in its Redis <c>:config</c> hash.</summary>
public sealed record CampaignRecord
{
    public required Guid CampaignId { get; init; }
    public required string Name { get; init; }
    public int? PercentOff { get; init; }
    public long? AmountOffCents { get; init; }
    public required string Currency { get; init; }
    public required int TotalQuantity { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public required DateTimeOffset EndTime { get; init; }
    public required DateTimeOffset RedeemBefore { get; init; }
    public Guid? DealId { get; init; }
    public required DateTimeOffset CreateTime { get; init; }
}

/// <summary>
/// One user's coupon as the service stores it (Redis coupon hash, stream entry, PostgreSQL row). HELD is internal: a
/// PlaceOrder is redeeming it right now; clients see it as CLAIMED.
/// </summary>
public sealed record CouponRecord
{
    public required string CouponId { get; init; }
    public required Guid CampaignId { get; init; }
    public required string UserId { get; init; }
    public required string Status { get; init; }
    public required DateTimeOffset ClaimTime { get; init; }
    public Guid? OrderId { get; init; }
    public DateTimeOffset? RedeemTime { get; init; }
    public required string CampaignName { get; init; }
    public int? PercentOff { get; init; }
    public long? AmountOffCents { get; init; }
    public required string Currency { get; init; }
    public required DateTimeOffset RedeemBefore { get; init; }
    public Guid? DealId { get; init; }
    public required string IdempotencyKey { get; init; }

    /// <summary>Bumped by every change a client can see; PostgreSQL keeps the highest.</summary>
    public required long Version { get; init; }

    /// <summary>On a release's stream entry only: the order the coupon left, when it was redeemed there and released.</summary>
    public Guid? ReleasedOrderId { get; init; }
    public DateTimeOffset? ReleasedRedeemTime { get; init; }
    public DateTimeOffset? ReleaseTime { get; init; }

    public CouponStatus PublicStatus => Status == CouponStatuses.Redeemed ? CouponStatus.Redeemed : CouponStatus.Claimed;
}

/// <summary>The status names in Redis and PostgreSQL.</summary>
public static class CouponStatuses
{
    public const string Claimed = "CLAIMED";
    public const string Held = "HELD";
    public const string Redeemed = "REDEEMED";
}

/// <summary>
/// coupon_id = "&lt;campaign_id&gt;~&lt;n&gt;", n the claim's number (1..total): the campaign, and so the Redis slot,
/// and the coupon hash are known from the id alone. Clients treat it as opaque.
/// </summary>
public static class CouponIds
{
    public static string Format(Guid campaignId, int number) =>
        $"{campaignId:D}~{number.ToString(CultureInfo.InvariantCulture)}";

    public static bool TryParse(string? couponId, out Guid campaignId, out int number)
    {
        campaignId = Guid.Empty;
        number = 0;
        var separator = couponId?.IndexOf('~', StringComparison.Ordinal) ?? -1;
        return separator == 36
            && Guid.TryParseExact(couponId.AsSpan(0, separator), "D", out campaignId)
            && int.TryParse(couponId.AsSpan(separator + 1), NumberStyles.None, CultureInfo.InvariantCulture, out number)
            && number >= 1
            && couponId![(separator + 1)..] == number.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// A coupon's discount on one order (docs/coupons.md): percent_off of quantity × unit price rounded down, or
/// amount_off_cents capped at that price. place_order.lua computes the same inside the placement (from the deal's price
/// in Redis); this is its specification, checked by tests against the script's answers.
/// </summary>
public static class CouponDiscount
{
    public static long Compute(int quantity, long unitPriceCents, int? percentOff, long? amountOffCents)
    {
        var gross = quantity * unitPriceCents;
        if (percentOff is { } percent)
        {
            return gross * percent / 100;
        }
        return amountOffCents is { } amount ? Math.Min(amount, gross) : 0;
    }
}

/// <summary>A business answer of the coupon API other than success (a CouponErrorReason and its ErrorInfo metadata).</summary>
public sealed record CouponRefusal(CouponErrorReason Reason, string Message, IReadOnlyDictionary<string, string> Metadata)
{
    public static CouponRefusal Of(CouponErrorReason reason, string message, params (string Key, string Value)[] metadata) =>
        new(reason, message, metadata.ToDictionary(m => m.Key, m => m.Value));
}

/// <summary>Carries a <see cref="CouponRefusal"/> out of the domain; Grpc/CouponErrors turns it into a status.</summary>
public sealed class CouponRefusalException(CouponRefusal refusal) : Exception(refusal.Message)
{
    public CouponRefusal Refusal { get; } = refusal;
}

/// <summary>What ClaimCoupon produced: the coupon (new or replayed), or a refusal.</summary>
public readonly record struct ClaimResult(CouponRecord? Coupon, bool Replayed, CouponRefusal? Refusal)
{
    public static ClaimResult Claimed(CouponRecord coupon, bool replayed) => new(coupon, replayed, null);

    public static ClaimResult Refused(CouponRefusal refusal) => new(null, false, refusal);
}

/// <summary>Every refusal of the coupon API, with the metadata coupon_errors.proto promises.</summary>
public static class CouponRefusals
{
    public static CouponRefusal CampaignNotFound(string campaignId) =>
        CouponRefusal.Of(CouponErrorReason.CampaignNotFound, "No campaign with that id.", ("campaign_id", campaignId));

    public static CouponRefusal CampaignNotStarted(Guid campaignId, DateTimeOffset start) =>
        CouponRefusal.Of(CouponErrorReason.CampaignNotStarted, "The campaign has not started yet.", Campaign(campaignId),
            ("start_time", Model.Refusals.Rfc3339(start)));

    public static CouponRefusal CampaignEnded(Guid campaignId, DateTimeOffset end) =>
        CouponRefusal.Of(CouponErrorReason.CampaignEnded, "The campaign has ended.", Campaign(campaignId),
            ("end_time", Model.Refusals.Rfc3339(end)));

    public static CouponRefusal CouponsExhausted(Guid campaignId) =>
        CouponRefusal.Of(CouponErrorReason.CouponsExhausted, "Every coupon of the campaign is claimed.", Campaign(campaignId));

    public static CouponRefusal AlreadyClaimed(Guid campaignId, string couponId) =>
        CouponRefusal.Of(CouponErrorReason.AlreadyClaimed,
            "You already hold this campaign's coupon (claimed with another idempotency_key).", Campaign(campaignId),
            ("coupon_id", couponId));

    public static CouponRefusal CouponNotFound(string couponId) =>
        CouponRefusal.Of(CouponErrorReason.CouponNotFound, "No such coupon among yours.", ("coupon_id", couponId));

    private static (string, string) Campaign(Guid campaignId) => ("campaign_id", campaignId.ToString("D"));
}
