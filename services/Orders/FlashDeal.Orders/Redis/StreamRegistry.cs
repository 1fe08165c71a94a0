using System.Collections.Concurrent;
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
