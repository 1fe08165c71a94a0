using System.Collections.Concurrent;
using FlashDeal.Contracts.Catalog.V1;
using Microsoft.Extensions.Options;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// GetDeal's in-process copies: a deal's terms and its stock reading, answered without Redis while younger than
/// <see cref="CatalogOptions.LocalReadTtl"/> (zero, or the read cache off: never). During a sale GetDeal is the hottest
/// read — every buyer polls it — and each answer otherwise costs a Redis round trip. The reading's clock moves on with
/// this server's clock, so a deal still turns LIVE at its second; the remaining stock and the terms are at most one TTL
/// old. This replica's own writes drop the copy at once; another replica's show within the TTL. The order path never
/// reads these: what is sold is decided in Redis.
/// </summary>
public sealed class HotDeals(IOptions<CatalogOptions> options, TimeProvider time)
{
    private const int MaxEntries = 10_000;
    private readonly TimeSpan _ttl = options.Value.CacheEnabled ? options.Value.LocalReadTtl : TimeSpan.Zero;
    private readonly ConcurrentDictionary<Guid, Entry> _entries = new();

    private sealed record Entry(Deal Deal, StockReading Reading, long ReadAt);

    public bool TryGet(Guid dealId, out Deal deal, out StockReading reading)
    {
        if (_ttl > TimeSpan.Zero && _entries.TryGetValue(dealId, out var entry))
        {
            var age = time.GetElapsedTime(entry.ReadAt);
            if (age < _ttl)
            {
                deal = entry.Deal;
                reading = entry.Reading with { Now = entry.Reading.Now + age };
                return true;
            }
        }
        deal = null!;
        reading = default;
        return false;
    }

    /// <summary>Keeps <paramref name="deal"/> (never changed afterwards: answers are built from clones) and its reading.</summary>
    public void Set(Guid dealId, Deal deal, StockReading reading)
    {
        if (_ttl <= TimeSpan.Zero)
        {
            return;
        }
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }
        _entries[dealId] = new Entry(deal, reading, time.GetTimestamp());
    }

    public void Remove(Guid dealId) => _entries.TryRemove(dealId, out _);
}
