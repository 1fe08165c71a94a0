using System.Globalization;
using FlashDeal.Data;
using FlashDeal.Orders.Placement;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Coupons;

/// <summary>
/// Campaigns and claims (docs/coupons.md). A campaign is a PostgreSQL row plus, for the hot path, a Redis config hash
/// and a remaining counter; a claim is one run of claim_coupon.lua, streamed into PostgreSQL by
/// <see cref="CouponStreamConsumer"/>. Nothing on the claim path touches PostgreSQL.
/// </summary>
public sealed class CouponCampaigns(
    IConnectionMultiplexer redis,
    CouponStore store,
    CouponStreamRegistry registry,
    ExhaustedCampaigns exhausted,
    ReplicaAcknowledgement replicas,
    UuidV7Generator ids,
    TimeProvider time,
    IOptions<OrdersOptions> orders,
    IOptions<CouponsOptions> options)
{
    private readonly OrdersOptions _orders = orders.Value;
    private readonly CouponsOptions _options = options.Value;

    /// <summary>Where remaining_quantity came from: live from Redis, or PostgreSQL's count when Redis did not answer.</summary>
    public readonly record struct CampaignView(CampaignRecord Campaign, long Remaining, bool Live);

    public TimeSpan DefaultRedeemWindow => _options.DefaultRedeemWindow;

    /// <summary>Stores a validated campaign (its id and create_time are assigned here), then makes it claimable.</summary>
    public async Task<CampaignView> CreateAsync(CampaignRecord draft, CancellationToken cancellationToken)
    {
        var campaign = draft with { CampaignId = ids.NewGuid(), CreateTime = time.GetUtcNow() };
        await store.InsertCampaignAsync(campaign, cancellationToken).ConfigureAwait(false);
        await WriteToRedisAsync(campaign).WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
        return new CampaignView(campaign, campaign.TotalQuantity, Live: true);
    }

    /// <summary>
    /// Registry first (so the consumer knows the stream before any claim), then the config, then the counter with SET NX:
    /// writing a campaign again (a retry, or warming after a failed create) never resets a running give-away.
    /// </summary>
    private async Task WriteToRedisAsync(CampaignRecord campaign)
    {
        await registry.RegisterAsync(campaign.CampaignId).ConfigureAwait(false);
        var database = redis.GetDatabase();
        var config = CouponKeys.Config(campaign.CampaignId);
        await database.HashSetAsync(config,
        [
            new(CampaignConfigFields.Name, campaign.Name),
            new(CampaignConfigFields.PercentOff, campaign.PercentOff?.ToString(CultureInfo.InvariantCulture) ?? ""),
            new(CampaignConfigFields.AmountOffCents, campaign.AmountOffCents?.ToString(CultureInfo.InvariantCulture) ?? ""),
            new(CampaignConfigFields.Currency, campaign.Currency),
            new(CampaignConfigFields.Total, campaign.TotalQuantity),
            new(CampaignConfigFields.StartMs, campaign.StartTime.ToUnixTimeMilliseconds()),
            new(CampaignConfigFields.EndMs, campaign.EndTime.ToUnixTimeMilliseconds()),
            new(CampaignConfigFields.RedeemBeforeMs, campaign.RedeemBefore.ToUnixTimeMilliseconds()),
            new(CampaignConfigFields.DealId, campaign.DealId?.ToString("D") ?? ""),
        ]).ConfigureAwait(false);
        var remaining = CouponKeys.Remaining(campaign.CampaignId);
        await database.StringSetAsync(remaining, campaign.TotalQuantity, when: When.NotExists).ConfigureAwait(false);
        // Never before PostgreSQL can have every claim: redeem_before plus the retention.
        var expiry = (campaign.RedeemBefore + _options.KeyRetention).UtcDateTime;
        await Task.WhenAll(database.KeyExpireAsync(config, expiry), database.KeyExpireAsync(remaining, expiry))
            .ConfigureAwait(false);
    }

    public async Task<CampaignView?> GetAsync(Guid campaignId, CancellationToken cancellationToken)
    {
        var campaign = await store.GetCampaignAsync(campaignId, cancellationToken).ConfigureAwait(false);
        return campaign is null ? null : (await WithRemainingAsync([campaign], cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>Campaigns not yet ended, soonest start first; one more than <paramref name="limit"/> means another page.</summary>
    public async Task<IReadOnlyList<CampaignView>> ListAsync((DateTimeOffset Start, Guid Id)? after, int limit,
        CancellationToken cancellationToken)
    {
        var campaigns = await store.ListCampaignsAsync(time.GetUtcNow(), after, limit, cancellationToken).ConfigureAwait(false);
        return await WithRemainingAsync(campaigns, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<CampaignView>> WithRemainingAsync(IReadOnlyList<CampaignRecord> campaigns,
        CancellationToken cancellationToken)
    {
        RedisValue[]? live = null;
        try
        {
            var database = redis.GetDatabase();
            live = await Task.WhenAll(campaigns.Select(c => database.StringGetAsync(CouponKeys.Remaining(c.CampaignId))))
                .WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Best effort below: claims still in the stream are not counted yet.
        }
        var views = new List<CampaignView>(campaigns.Count);
        for (var i = 0; i < campaigns.Count; i++)
        {
            var campaign = campaigns[i];
            if (live is not null && live[i].TryParse(out long remaining))
            {
                views.Add(new CampaignView(campaign, Math.Max(0, remaining), Live: true));
                continue;
            }
            var claimed = await store.CountCouponsAsync(campaign.CampaignId, cancellationToken).ConfigureAwait(false);
            views.Add(new CampaignView(campaign, Math.Max(0, campaign.TotalQuantity - claimed), Live: false));
        }
        return views;
    }

    /// <summary>One claim: claim_coupon.lua, then (under Replica durability) the replicas' acknowledgement.</summary>
    public async Task<ClaimResult> ClaimAsync(Guid campaignId, string userId, string idempotencyKey,
        CancellationToken cancellationToken)
    {
        if (exhausted.IsExhaustedFor(campaignId, userId))
        {
            return ClaimResult.Refused(CouponRefusals.CouponsExhausted(campaignId));
        }
        var reply = await RunClaimAsync(campaignId, userId, idempotencyKey, cancellationToken).ConfigureAwait(false);
        if (reply.Status == "CAMPAIGN_NOT_FOUND")
        {
            // Unknown to Redis: a campaign whose create stopped after PostgreSQL, or whose keys expired long after it.
            var campaign = await store.GetCampaignAsync(campaignId, cancellationToken).ConfigureAwait(false);
            if (campaign is null)
            {
                return ClaimResult.Refused(CouponRefusals.CampaignNotFound(campaignId.ToString("D")));
            }
            if (time.GetUtcNow() >= campaign.EndTime)
            {
                return ClaimResult.Refused(CouponRefusals.CampaignEnded(campaignId, campaign.EndTime));
            }
            await WriteToRedisAsync(campaign).WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
            reply = await RunClaimAsync(campaignId, userId, idempotencyKey, cancellationToken).ConfigureAwait(false);
        }
        switch (reply.Status)
        {
            case "CLAIMED":
            case "REPLAYED":
                var coupon = CouponSnapshot.FromFlatArray(reply.Values);
                await ConfirmDurableAsync(coupon, cancellationToken).ConfigureAwait(false);
                return ClaimResult.Claimed(coupon, replayed: reply.Status == "REPLAYED");
            case "ALREADY_CLAIMED":
                return ClaimResult.Refused(CouponRefusals.AlreadyClaimed(campaignId, reply.Values[0]));
            case "CAMPAIGN_NOT_STARTED":
                return ClaimResult.Refused(CouponRefusals.CampaignNotStarted(campaignId, CouponSnapshot.FromMs(reply.Values[0])));
            case "CAMPAIGN_ENDED":
                return ClaimResult.Refused(CouponRefusals.CampaignEnded(campaignId, CouponSnapshot.FromMs(reply.Values[0])));
            case "COUPONS_EXHAUSTED":
                exhausted.MarkExhausted(campaignId, CouponSnapshot.FromMs(reply.Values[0]));
                return ClaimResult.Refused(CouponRefusals.CouponsExhausted(campaignId));
            case "CAMPAIGN_NOT_FOUND":
                return ClaimResult.Refused(CouponRefusals.CampaignNotFound(campaignId.ToString("D")));
            default:
                throw new InvalidOperationException($"claim_coupon.lua answered '{reply.Status}'.");
        }
    }

    private Task<ScriptReply> RunClaimAsync(Guid campaignId, string userId, string idempotencyKey,
        CancellationToken cancellationToken) =>
        ClaimCouponScript.RunAsync(redis.GetDatabase(), campaignId, userId, idempotencyKey, _options.KeyRetention)
            .WaitAsync(_orders.RedisTimeout, cancellationToken);

    /// <summary>Same durability as PlaceOrder: under Replica, answered only once replicas hold the coupon.</summary>
    private async Task ConfirmDurableAsync(CouponRecord coupon, CancellationToken cancellationToken)
    {
        if (_orders.Durability != OrderDurability.Replica)
        {
            return;
        }
        CouponIds.TryParse(coupon.CouponId, out var campaignId, out var number);
        if (!await replicas.ConfirmAsync(CouponKeys.HashTag(campaignId), CouponKeys.Coupon(campaignId, number),
                cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException(
                $"Coupon {coupon.CouponId} was not confirmed on {_orders.DurableReplicas} Redis replica(s) within {_orders.ReplicaWaitTimeout}.");
        }
    }

    /// <summary>One of the user's coupons: the Redis hash while it lives (the live status), else PostgreSQL.</summary>
    public async Task<CouponRecord?> FindCouponAsync(string couponId, string userId, CancellationToken cancellationToken)
    {
        if (!CouponIds.TryParse(couponId, out var campaignId, out var number))
        {
            return null;
        }
        CouponRecord? coupon = null;
        try
        {
            var entries = await redis.GetDatabase().HashGetAllAsync(CouponKeys.Coupon(campaignId, number))
                .WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
            coupon = CouponSnapshot.FromHash(entries);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // PostgreSQL below has every coupon the stream delivered.
        }
        coupon ??= await store.GetCouponAsync(couponId, cancellationToken).ConfigureAwait(false);
        return coupon?.UserId == userId ? coupon : null;
    }

    public Task<List<CouponRecord>> ListMineAsync(string userId, string? status, (DateTimeOffset, Guid)? after, int limit,
        CancellationToken cancellationToken) =>
        store.ListByUserAsync(userId, status, after, limit, cancellationToken);
}
