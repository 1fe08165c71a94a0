using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Orders.Coupons;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Orders.Grpc;

public static class CouponMapping
{
    public static Campaign ToProto(this CouponCampaigns.CampaignView view)
    {
        var campaign = view.Campaign;
        var proto = new Campaign
        {
            CampaignId = campaign.CampaignId.ToString("D"),
            Name = campaign.Name,
            Currency = campaign.Currency,
            TotalQuantity = campaign.TotalQuantity,
            RemainingQuantity = (int)view.Remaining,
            StartTime = Timestamp.FromDateTimeOffset(campaign.StartTime),
            EndTime = Timestamp.FromDateTimeOffset(campaign.EndTime),
            RedeemBefore = Timestamp.FromDateTimeOffset(campaign.RedeemBefore),
            DealId = campaign.DealId?.ToString("D") ?? "",
            CreateTime = Timestamp.FromDateTimeOffset(campaign.CreateTime),
        };
        if (campaign.PercentOff is { } percent)
        {
            proto.PercentOff = percent;
        }
        else if (campaign.AmountOffCents is { } amount)
        {
            proto.AmountOffCents = amount;
        }
        return proto;
    }

    public static Coupon ToProto(this CouponRecord coupon)
    {
        var proto = new Coupon
        {
            CouponId = coupon.CouponId,
            CampaignId = coupon.CampaignId.ToString("D"),
            UserId = coupon.UserId,
            Status = coupon.PublicStatus,
            ClaimTime = Timestamp.FromDateTimeOffset(coupon.ClaimTime),
            OrderId = coupon.OrderId?.ToString("D") ?? "",
            CampaignName = coupon.CampaignName,
            Currency = coupon.Currency,
            RedeemBefore = Timestamp.FromDateTimeOffset(coupon.RedeemBefore),
            DealId = coupon.DealId?.ToString("D") ?? "",
        };
        if (coupon.RedeemTime is { } redeemed)
        {
            proto.RedeemTime = Timestamp.FromDateTimeOffset(redeemed);
        }
        if (coupon.PercentOff is { } percent)
        {
            proto.PercentOff = percent;
        }
        else if (coupon.AmountOffCents is { } amount)
        {
            proto.AmountOffCents = amount;
        }
        return proto;
    }
}
