using System.Collections.Concurrent;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Data.Redis;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// One look at a deal's remaining stock, with the clock it was read on. <see cref="Live"/> is true when both came
/// from Redis (the order path's own counter and clock); otherwise the time is this server's and the remaining stock
/// is the last value this replica saw, or null when it saw none (callers then report the deal's full stock).
/// </summary>
public readonly record struct StockReading(DateTime Now, int? Remaining, bool Live);

public sealed class DealStockReader(RedisGuard redis, TimeProvider time)
{
    private const int MaxRemembered = 10_000;
    private static readonly RedisScript Script = CatalogScripts.Load("Deals", "deal_live_state");
    private readonly ConcurrentDictionary<Guid, int> _lastSeen = new();

    public async Task<StockReading> ReadAsync(Guid dealId)
    {
        var outcome = await redis.TryAsync(db => Script.EvaluateAsync(db, [DealKeys.Stock(dealId)], []));
        if (!outcome.Ok)
        {
            return new StockReading(Times.Now(time), LastSeen(dealId), Live: false);
        }
        var reply = (RedisResult[])outcome.Value!;
        var now = DateTime.UnixEpoch.AddSeconds((long)reply[0]).AddTicks((long)reply[1] * 10);
        if (reply[2].IsNull)
        {
            return new StockReading(now, LastSeen(dealId), Live: false);
        }
        var remaining = Math.Max(0, (int)reply[2]);
        if (_lastSeen.Count >= MaxRemembered)
        {
            _lastSeen.Clear();
        }
        _lastSeen[dealId] = remaining;
        return new StockReading(now, remaining, Live: true);
    }

    private int? LastSeen(Guid dealId) => _lastSeen.TryGetValue(dealId, out var remaining) ? remaining : null;
}
