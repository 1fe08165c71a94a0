using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;

namespace FlashDeal.Catalog.Products;

/// <summary>Products in Redis under <c>catalog:product:&lt;id&gt;</c> (protobuf bytes, TTL Catalog:CacheTtl).</summary>
public sealed class ProductCache(ProtoCache cache)
{
    public Task<Product?> GetAsync(Guid productId) => cache.GetAsync(ProtoCache.ProductKey(productId), Product.Parser);

    public Task SetAsync(Guid productId, Product product) => cache.SetAsync(ProtoCache.ProductKey(productId), product);

    public Task InvalidateAsync(Guid productId) => cache.InvalidateAsync(ProtoCache.ProductKey(productId));
}
