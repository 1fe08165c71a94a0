using System.Collections.Concurrent;
using StackExchange.Redis;

namespace FlashDeal.Orders.Coupons;

/// <summary>
/// The set of campaigns whose event stream the consumer drains (<see cref="CouponKeys.StreamRegistry"/>). A campaign is
/// added before its config is written, so no claim can write an entry to a stream the consumers do not know.
/// </summary>
public sealed class CouponStreamRegistry(IConnectionMultiplexer redis)
{
    private readonly ConcurrentDictionary<Guid, bool> _known = new();

    public async Task RegisterAsync(Guid campaignId)
    {
        if (_known.ContainsKey(campaignId))
        {
            return;
        }
        await redis.GetDatabase().SetAddAsync(CouponKeys.StreamRegistry, campaignId.ToString("D")).ConfigureAwait(false);
        _known[campaignId] = true;
    }

    /// <summary>
    /// Removes a campaign nothing writes to any more: its keys expired (redeem_before + retention) and its stream is empty.
    /// </summary>
    public async Task<bool> RemoveIfFinishedAsync(Guid campaignId)
    {
        var database = redis.GetDatabase();
        if (await database.KeyExistsAsync(CouponKeys.Config(campaignId)).ConfigureAwait(false)
            || await database.StreamLengthAsync(CouponKeys.Events(campaignId)).ConfigureAwait(false) > 0)
        {
            return false;
        }
        await database.SetRemoveAsync(CouponKeys.StreamRegistry, campaignId.ToString("D")).ConfigureAwait(false);
        _known.TryRemove(campaignId, out _);
        return true;
    }

    public async Task<IReadOnlyList<Guid>> ListAsync()
    {
        var members = await redis.GetDatabase().SetMembersAsync(CouponKeys.StreamRegistry).ConfigureAwait(false);
        return [.. members.Select(m => Guid.TryParse((string?)m, out var id) ? id : Guid.Empty).Where(id => id != Guid.Empty)];
    }
}
