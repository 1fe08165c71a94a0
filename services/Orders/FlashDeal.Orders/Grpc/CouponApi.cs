using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Data;
using FlashDeal.Orders.Coupons;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;

namespace FlashDeal.Orders.Grpc;

/// <summary>
/// flashdeal.coupons.v1.CouponService over gRPC and REST (docs/coupons.md): creating campaigns needs an admin, reading
/// them is public, claiming and reading coupons act on the caller's own. Its RATE_LIMITED refusals are in the coupon
/// domain like its other errors, though the orders process serves it.
/// </summary>
[Authorize]
[EnableRateLimiting("coupons-read")]
[ErrorDomain(CouponErrors.Domain)]
public sealed class CouponApi(CouponCampaigns campaigns, OrdersMetrics metrics) : CouponService.CouponServiceBase
{
    /// <summary>
    /// Default rate limits per user (anonymous readers: per address) and replica (docs/rate-limits.md). A claimer clicks
    /// once or twice; the campaign's one-per-user rule decides who gets a coupon.
    /// </summary>
    public static readonly Dictionary<string, RateLimitPolicyOptions> RateLimitPolicies = new()
    {
        ["claim-coupon"] = new() { PermitsPerSecond = 3, Burst = 5 },
        ["coupons-read"] = new() { PermitsPerSecond = 20, Burst = 40 },
        ["coupons-admin"] = new() { PermitsPerSecond = 20, Burst = 50 },
    };

    /// <summary>Response metadata saying where remaining_quantity came from: "redis" (live) or "fallback".</summary>
    public const string RemainingSourceHeader = "flashdeal-remaining-source";

    private static readonly ClaimCouponResponse RefusedPlaceholder = new();

    [Authorize(Policy = AuthPolicies.Admin)]
    [EnableRateLimiting("coupons-admin")]
    public override async Task<CreateCampaignResponse> CreateCampaign(CreateCampaignRequest request, ServerCallContext context)
    {
        var draft = CouponRequests.Validate(request, campaigns.DefaultRedeemWindow);
        try
        {
            var view = await campaigns.CreateAsync(draft, context.CancellationToken).ConfigureAwait(false);
            return new CreateCampaignResponse { Campaign = view.ToProto() };
        }
        catch (Exception e) when (CouponErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }

    [AllowAnonymous]
    public override async Task<GetCampaignResponse> GetCampaign(GetCampaignRequest request, ServerCallContext context)
    {
        var notFound = CouponRefusals.CampaignNotFound(request.CampaignId);
        try
        {
            var view = CouponRequests.CampaignId(request.CampaignId) is { } id
                ? await campaigns.GetAsync(id, context.CancellationToken).ConfigureAwait(false)
                : null;
            if (view is not { } found)
            {
                throw new CouponRefusalException(notFound);
            }
            await SourceAsync(context, [found]).ConfigureAwait(false);
            return new GetCampaignResponse { Campaign = found.ToProto() };
        }
        catch (Exception e) when (CouponErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }

    [AllowAnonymous]
    public override async Task<ListCampaignsResponse> ListCampaigns(ListCampaignsRequest request, ServerCallContext context)
    {
        var pageSize = CouponRequests.PageSize(request.PageSize);
        const string scope = "coupons.ListCampaigns";
        PageCursor<DateTimeOffset>? after;
        try
        {
            after = PageToken.Decode<DateTimeOffset>(request.PageToken, scope);
        }
        catch (InvalidPageTokenException e)
        {
            throw RpcErrors.InvalidArgument((e.Field, e.Description));
        }
        try
        {
            var views = await campaigns.ListAsync(after is { } cursor ? (cursor.SortKey, cursor.Id) : null, pageSize + 1,
                context.CancellationToken).ConfigureAwait(false);
            var page = views.Take(pageSize).ToList();
            await SourceAsync(context, page).ConfigureAwait(false);
            var response = new ListCampaignsResponse();
            response.Campaigns.AddRange(page.Select(v => v.ToProto()));
            if (views.Count > pageSize)
            {
                var last = page[^1].Campaign;
                response.NextPageToken = PageToken.Encode(last.StartTime, last.CampaignId, scope);
            }
            return response;
        }
        catch (Exception e) when (CouponErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }

    [EnableRateLimiting("claim-coupon")]
    public override async Task<ClaimCouponResponse> ClaimCoupon(ClaimCouponRequest request, ServerCallContext context)
    {
        CouponRequests.ValidateClaim(request);
        var user = context.RequireUser();
        ClaimResult result;
        try
        {
            result = CouponRequests.CampaignId(request.CampaignId) is { } id
                ? await campaigns.ClaimAsync(id, user.UserId, request.IdempotencyKey, context.CancellationToken)
                    .ConfigureAwait(false)
                : ClaimResult.Refused(CouponRefusals.CampaignNotFound(request.CampaignId));
        }
        catch (Exception e) when (CouponErrors.Translate(e) is { } status)
        {
            metrics.CouponClaim("UNAVAILABLE");
            throw status;
        }
        if (result.Refusal is { } refusal)
        {
            metrics.CouponClaim(CouponErrors.ReasonName(refusal.Reason));
            // Most claimers of a give-away are refused: no exception per refusal (as PlaceOrder, RpcErrors.Refuse).
            return await RpcErrors.Refuse(context, CouponErrors.ToStatus(refusal), RefusedPlaceholder).ConfigureAwait(false);
        }
        metrics.CouponClaim(result.Replayed ? "REPLAYED" : "CLAIMED");
        return new ClaimCouponResponse { Coupon = result.Coupon!.ToProto(), Replayed = result.Replayed };
    }

    public override async Task<GetCouponResponse> GetCoupon(GetCouponRequest request, ServerCallContext context)
    {
        if (request.CouponId.Length == 0)
        {
            throw RpcErrors.InvalidArgument(("coupon_id", "is required"));
        }
        var user = context.RequireUser();
        try
        {
            var coupon = await campaigns.FindCouponAsync(request.CouponId, user.UserId, context.CancellationToken)
                .ConfigureAwait(false);
            return coupon is not null
                ? new GetCouponResponse { Coupon = coupon.ToProto() }
                : throw new CouponRefusalException(CouponRefusals.CouponNotFound(request.CouponId));
        }
        catch (Exception e) when (CouponErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }

    public override async Task<ListMyCouponsResponse> ListMyCoupons(ListMyCouponsRequest request, ServerCallContext context)
    {
        var pageSize = CouponRequests.PageSize(request.PageSize);
        var status = request.Status switch
        {
            CouponStatus.Unspecified => null,
            CouponStatus.Claimed => CouponStatuses.Claimed,
            CouponStatus.Redeemed => CouponStatuses.Redeemed,
            _ => throw RpcErrors.InvalidArgument(("status", "must be a CouponStatus value")),
        };
        var user = context.RequireUser();
        var scope = $"coupons.ListMyCoupons|{user.UserId}|{status}";
        PageCursor<DateTimeOffset>? after;
        try
        {
            after = PageToken.Decode<DateTimeOffset>(request.PageToken, scope);
        }
        catch (InvalidPageTokenException e)
        {
            throw RpcErrors.InvalidArgument((e.Field, e.Description));
        }
        try
        {
            var rows = await campaigns.ListMineAsync(user.UserId, status, after is { } cursor ? (cursor.SortKey, cursor.Id) : null,
                pageSize + 1, context.CancellationToken).ConfigureAwait(false);
            var response = new ListMyCouponsResponse();
            response.Coupons.AddRange(rows.Take(pageSize).Select(c => c.ToProto()));
            if (rows.Count > pageSize)
            {
                var last = rows[pageSize - 1];
                response.NextPageToken = PageToken.Encode(last.ClaimTime, last.CampaignId, scope);
            }
            return response;
        }
        catch (Exception e) when (CouponErrors.Translate(e) is { } status2)
        {
            throw status2;
        }
    }

    private static Task SourceAsync(ServerCallContext context, IReadOnlyCollection<CouponCampaigns.CampaignView> views) =>
        context.WriteResponseHeadersAsync(new Metadata
        {
            { RemainingSourceHeader, views.All(v => v.Live) ? "redis" : "fallback" },
        });
}
