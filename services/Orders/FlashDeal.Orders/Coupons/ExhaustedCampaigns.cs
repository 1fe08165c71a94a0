using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace FlashDeal.Orders.Coupons;

/// <summary>
/// Remembers in-process that a campaign has no coupon left, so the flood of claims after the last one is answered
/// without a Redis round trip (like <see cref="Placement.SoldOutFlags"/> for deals). Unlike stock, coupons never return
/// to the pool (a released coupon stays its owner's), so an exhausted campaign stays exhausted and the flag needs no
/// invalidation. Its claimers, loaded once (one HKEYS of <c>:claims</c>, final once nothing is left), still go to Redis,
/// which replays their coupon or says ALREADY_CLAIMED; and after end_time every call goes to Redis, which answers
/// CAMPAIGN_ENDED as the script orders its checks.
/// </summary>
public sealed class ExhaustedCampaigns(IConnectionMultiplexer redis, TimeProvider time, ILogger<ExhaustedCampaigns> logger)
{
    /// <summary>Campaigns with more claimers than this are not flagged (the set would cost too much memory per replica).</summary>
    public const long MaxClaimers = 200_000;

    private readonly ConcurrentDictionary<Guid, Flag> _flags = new();

    /// <summary>True when the campaign is known to be exhausted, its window is open and the user claimed nothing in it.</summary>
    public bool IsExhaustedFor(Guid campaignId, string userId) =>
        _flags.TryGetValue(campaignId, out var flag) && flag.Claimers is { } claimers
        && time.GetUtcNow() < flag.End && !claimers.Contains(userId);

    /// <summary>Called when Redis answered COUPONS_EXHAUSTED; the flag works once the claimers are loaded.</summary>
    public void MarkExhausted(Guid campaignId, DateTimeOffset end)
    {
        var flag = new Flag(end);
        if (_flags.TryAdd(campaignId, flag))
        {
            _ = LoadClaimersAsync(campaignId, flag);
        }
    }

    public int Count => _flags.Count;

    private async Task LoadClaimersAsync(Guid campaignId, Flag flag)
    {
        try
        {
            var database = redis.GetDatabase();
            if (await database.HashLengthAsync(CouponKeys.Claims(campaignId)).ConfigureAwait(false) > MaxClaimers)
            {
                return;
            }
            var claimers = await database.HashKeysAsync(CouponKeys.Claims(campaignId)).ConfigureAwait(false);
            flag.Claimers = claimers.Select(c => (string)c!).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            logger.LogDebug(e, "Could not load the claimers of exhausted campaign {CampaignId}; the flag stays off", campaignId);
            _flags.TryRemove(KeyValuePair.Create(campaignId, flag));
        }
    }

    private sealed class Flag(DateTimeOffset end)
    {
        public DateTimeOffset End { get; } = end;

        public volatile HashSet<string>? Claimers;
    }
}
