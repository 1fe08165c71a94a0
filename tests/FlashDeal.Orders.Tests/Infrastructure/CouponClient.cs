using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.ServiceDefaults;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlashDeal.Orders.Tests;

/// <summary>What one ClaimCoupon call answered, as the client saw it.</summary>
public sealed record ClaimOutcome(string UserId, string Key, Coupon? Coupon, bool Replayed, StatusCode Code, string? Reason)
{
    public bool Claimed => Coupon is not null;
}

/// <summary>The generated CouponService client on one orders host, each call with a user's (or an admin's) token.</summary>
public sealed class CouponClient(GrpcChannel channel, TestTokens tokens)
{
    public CouponService.CouponServiceClient Grpc { get; } = new(channel);

    /// <summary>A campaign open from a minute ago for an hour, unless the caller says otherwise.</summary>
    public static Campaign NewCampaign(int total, int? percentOff = 25, long? amountOffCents = null, string currency = "",
        Guid? dealId = null, DateTimeOffset? start = null, DateTimeOffset? end = null)
    {
        var campaign = new Campaign
        {
            Name = "Launch give-away",
            TotalQuantity = total,
            Currency = currency,
            StartTime = Timestamp.FromDateTimeOffset(start ?? DateTimeOffset.UtcNow.AddMinutes(-1)),
            EndTime = Timestamp.FromDateTimeOffset(end ?? DateTimeOffset.UtcNow.AddHours(1)),
            DealId = dealId?.ToString("D") ?? "",
        };
        if (amountOffCents is { } amount)
        {
            campaign.AmountOffCents = amount;
        }
        else if (percentOff is { } percent)
        {
            campaign.PercentOff = percent;
        }
        return campaign;
    }

    public async Task<Campaign> CreateAsync(Campaign campaign) =>
        (await Grpc.CreateCampaignAsync(new CreateCampaignRequest { Campaign = campaign }, Admin())).Campaign;

    public async Task<Campaign> GetAsync(string campaignId) =>
        (await Grpc.GetCampaignAsync(new GetCampaignRequest { CampaignId = campaignId }, Options(null))).Campaign;

    public Task<ClaimCouponResponse> ClaimRawAsync(string userId, string campaignId, string key) =>
        Grpc.ClaimCouponAsync(new ClaimCouponRequest { CampaignId = campaignId, IdempotencyKey = key }, Options(userId))
            .ResponseAsync;

    public async Task<ClaimOutcome> ClaimAsync(string userId, string campaignId, string key)
    {
        try
        {
            var response = await ClaimRawAsync(userId, campaignId, key);
            return new ClaimOutcome(userId, key, response.Coupon, response.Replayed, StatusCode.OK, null);
        }
        catch (RpcException e)
        {
            return new ClaimOutcome(userId, key, null, false, e.StatusCode, e.GetDetail<ErrorInfo>()?.Reason);
        }
    }

    public async Task<Coupon> GetCouponAsync(string userId, string couponId) =>
        (await Grpc.GetCouponAsync(new GetCouponRequest { CouponId = couponId }, Options(userId))).Coupon;

    public CallOptions Admin() => new(new Metadata { { "authorization", tokens.AdminBearer("admin") } },
        DateTime.UtcNow + OrderClient.DefaultTimeout);

    public CallOptions Options(string? userId)
    {
        var headers = new Metadata();
        if (userId is not null)
        {
            headers.Add("authorization", tokens.Bearer(userId));
        }
        return new CallOptions(headers, DateTime.UtcNow + OrderClient.DefaultTimeout);
    }
}
