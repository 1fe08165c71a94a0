using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// A deal's stored part in Redis under <c>catalog:deal:&lt;id&gt;</c> (protobuf bytes, TTL Catalog:CacheTtl). State and
/// remaining stock are never cached: they are computed on every read.
/// </summary>
public sealed class DealCache(ProtoCache cache)
{
    public Task<Deal?> GetAsync(Guid dealId) => cache.GetAsync(ProtoCache.DealKey(dealId), Deal.Parser);

    public Task SetAsync(Guid dealId, Deal deal) => cache.SetAsync(ProtoCache.DealKey(dealId), deal);

    public Task<bool> WarmAsync(Guid dealId, Deal deal, TimeSpan ttl) => cache.WarmAsync(ProtoCache.DealKey(dealId), deal, ttl);

    public Task InvalidateAsync(Guid dealId) => cache.InvalidateAsync(ProtoCache.DealKey(dealId));
}
