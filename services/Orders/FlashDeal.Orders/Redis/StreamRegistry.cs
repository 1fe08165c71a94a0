using System.Collections.Concurrent;
using System.Globalization;
using FlashDeal.Data.Redis;
using StackExchange.Redis;

namespace FlashDeal.Orders.Redis;

/// <summary>
/// The set of deals whose per-deal keys (stream, pending deadlines) the background workers must visit:
/// <see cref="OrderKeys.StreamRegistry"/>. A deal is added before its first order can be accepted (the placement
/// script answers REGISTER until then), so no stream entry is ever written for a deal the consumers do not know.
/// The set has no hash tag: it is only touched outside scripts (SADD, SMEMBERS), one call per deal per process.
/// </summary>
public sealed class StreamRegistry(IConnectionMultiplexer redis)
{
    private readonly ConcurrentDictionary<Guid, bool> _known = new();

    public bool IsRegistered(Guid dealId) => _known.ContainsKey(dealId);

    public async Task RegisterAsync(Guid dealId)
    {
        await redis.GetDatabase().SetAddAsync(OrderKeys.StreamRegistry, dealId.ToString("D")).ConfigureAwait(false);
        _known[dealId] = true;
    }

    /// <summary>
    /// Removes a deal nothing can write to any more: ended (by <paramref name="now"/> minus <paramref name="grace"/>),
    /// cancelled or gone, with an empty stream, no pending order and no refund in progress. Placements need an open
    /// window and every status change needs a pending order (in the deadlines set) or a refund lock (in the refunding
    /// set; a refund registers its deal again), so after these checks no entry can appear.
    /// </summary>
    public async Task<bool> RemoveIfFinishedAsync(Guid dealId, DateTimeOffset now, TimeSpan grace)
    {
        var database = redis.GetDatabase();
        var config = await database.HashGetAsync(DealKeys.Config(dealId), [DealConfigFields.EndMs, DealConfigFields.Cancelled])
            .ConfigureAwait(false);
        var ended = config[0].IsNull
            || config[1] == "1"
            || long.Parse((string)config[0]!, CultureInfo.InvariantCulture) < (now - grace).ToUnixTimeMilliseconds();
        if (!ended
            || await database.SortedSetLengthAsync(OrderKeys.Deadlines(dealId)).ConfigureAwait(false) > 0
            || await database.SortedSetLengthAsync(OrderKeys.Refunding(dealId)).ConfigureAwait(false) > 0
            || await database.StreamLengthAsync(OrderKeys.Stream(dealId)).ConfigureAwait(false) > 0)
        {
            return false;
        }
        await database.SetRemoveAsync(OrderKeys.StreamRegistry, dealId.ToString("D")).ConfigureAwait(false);
        _known.TryRemove(dealId, out _);
        return true;
    }

    public async Task<IReadOnlyList<Guid>> ListAsync()
    {
        var members = await redis.GetDatabase().SetMembersAsync(OrderKeys.StreamRegistry).ConfigureAwait(false);
        var deals = new List<Guid>(members.Length);
        foreach (var member in members)
        {
            if (Guid.TryParse((string?)member, out var dealId))
            {
                deals.Add(dealId);
            }
        }
        return deals;
    }
}
