using System.Collections.Concurrent;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Placement;

/// <summary>
/// Remembers in-process that a deal is sold out, so the flood after sell-out is answered without a Redis round trip.
/// A flag lives <see cref="OrdersOptions.SoldOutFlagTtl"/> at most and is dropped at once when stock returns (a message
/// on <see cref="OrderKeys.StockReturnedChannel"/> or <see cref="DealKeys.UpdatesChannel"/>).
/// <para>
/// A retry must still get its original order (invariant 3), so the flag also holds the deal's buyers as they were when
/// it was set: a user who ever placed an order in the deal still goes to Redis, which answers the replay. Anyone else
/// cannot have an order there, because a new one needs stock, and returned stock drops the flag first.
/// </para>
/// </summary>
public sealed class SoldOutFlags(IConnectionMultiplexer redis, IOptions<OrdersOptions> options, TimeProvider time,
    ILogger<SoldOutFlags> logger) : IDealChangeObserver
{
    private readonly ConcurrentDictionary<Guid, Flag> _flags = new();
    private readonly long _ttlTicks = (long)(options.Value.SoldOutFlagTtl.TotalSeconds * time.TimestampFrequency);
    private long _invalidations;

    /// <summary>Take before asking Redis; pass to <see cref="MarkSoldOut"/> so an answer older than a stock return is ignored.</summary>
    public long Version => Interlocked.Read(ref _invalidations);

    /// <summary>True when the deal is known to be sold out and this user has no order in it.</summary>
    public bool IsSoldOutFor(Guid dealId, string userId)
    {
        if (!_flags.TryGetValue(dealId, out var flag) || flag.Buyers is not { } buyers)
        {
            return false;
        }
        if (time.GetTimestamp() - flag.SetAt > _ttlTicks)
        {
            _flags.TryRemove(KeyValuePair.Create(dealId, flag));
            return false;
        }
        return !buyers.Contains(userId);
    }

    /// <summary>Called when Redis answered SOLD_OUT; the flag works once the buyers are loaded (one HKEYS).</summary>
    /// <param name="versionBefore"><see cref="Version"/> taken before the call that answered SOLD_OUT.</param>
    public void MarkSoldOut(Guid dealId, long versionBefore)
    {
        if (Version != versionBefore
            || (_flags.TryGetValue(dealId, out var existing) && time.GetTimestamp() - existing.SetAt <= _ttlTicks))
        {
            return;
        }
        var flag = new Flag(time.GetTimestamp());
        _flags[dealId] = flag;
        _ = LoadBuyersAsync(dealId, flag);
    }

    public void Invalidate(Guid dealId)
    {
        // Any stock return makes every SOLD_OUT answer still in flight suspect, whatever its deal: cheap and safe.
        Interlocked.Increment(ref _invalidations);
        _flags.TryRemove(dealId, out _);
    }

    /// <summary>After a reconnect: messages may have been missed while away.</summary>
    public void InvalidateAll()
    {
        Interlocked.Increment(ref _invalidations);
        _flags.Clear();
    }

    public int Count => _flags.Count;

    void IDealChangeObserver.DealChanged(Guid dealId) => Invalidate(dealId);

    void IDealChangeObserver.AllChanged() => InvalidateAll();

    private async Task LoadBuyersAsync(Guid dealId, Flag flag)
    {
        try
        {
            var buyers = await redis.GetDatabase().HashKeysAsync(OrderKeys.Buyers(dealId)).ConfigureAwait(false);
            // Read after SOLD_OUT was seen: every order accepted before the stock ran out is in this snapshot.
            flag.Buyers = buyers.Select(b => (string)b!).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            logger.LogDebug(e, "Could not load the buyers of sold-out deal {DealId}; the flag stays off", dealId);
            _flags.TryRemove(KeyValuePair.Create(dealId, flag));
        }
    }

    private sealed class Flag(long setAt)
    {
        public long SetAt { get; } = setAt;

        public volatile HashSet<string>? Buyers;
    }
}
