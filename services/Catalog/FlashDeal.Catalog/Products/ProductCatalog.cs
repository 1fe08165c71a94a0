using FlashDeal.Catalog.Grpc;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Products;

/// <summary>
/// Products: PostgreSQL is the truth, Redis a read cache (cache-aside, deleted after every committed write), first list
/// pages in memory (<see cref="HotProductPages"/>, dropped by every write).
/// </summary>
public sealed class ProductCatalog(ProductStore store, ProductCache cache, UuidV7Generator ids, TimeProvider time,
    HotProductPages pages, RedisGuard redis, CatalogMetrics metrics)
{
    public async Task<Product> CreateAsync(Product input, CancellationToken cancellationToken)
    {
        var productId = ids.NewGuid();
        var now = Times.Now(time);
        await store.InsertAsync(productId, input, now, cancellationToken);
        await ChangedAsync(productId);
        return new Product
        {
            ProductId = Ids.Format(productId),
            Name = input.Name,
            Description = input.Description,
            Category = input.Category,
            ListPriceCents = input.ListPriceCents,
            Currency = input.Currency,
            ImageUri = input.ImageUri,
            CreateTime = Times.ToTimestamp(now),
            UpdateTime = Times.ToTimestamp(now),
        };
    }

    /// <summary>Null when there is no such product. Served from the cache when it has the product.</summary>
    public async Task<Product?> GetAsync(Guid productId, CancellationToken cancellationToken)
    {
        if (await cache.GetAsync(productId) is { } cached)
        {
            return cached;
        }
        var product = await store.GetAsync(productId, cancellationToken);
        if (product is not null)
        {
            await cache.SetAsync(productId, product);
        }
        return product;
    }

    /// <summary>Copies the <paramref name="paths"/> of <paramref name="changes"/> onto the product (validated by the caller).</summary>
    public async Task<Product> UpdateAsync(Guid productId, Product changes, IReadOnlySet<string> paths,
        CancellationToken cancellationToken)
    {
        var product = await store.UpdateAsync(productId, Times.Now(time), current =>
        {
            if (current.Archived)
            {
                throw CatalogErrors.ProductArchived(current.ProductId);
            }
            foreach (var path in paths)
            {
                Apply(current, changes, path);
            }
        }, cancellationToken) ?? throw CatalogErrors.ProductNotFound(Ids.Format(productId));
        await cache.InvalidateAsync(productId);
        await ChangedAsync(productId);
        return product;
    }

    public async Task<Product> ArchiveAsync(Guid productId, CancellationToken cancellationToken)
    {
        var product = await store.ArchiveAsync(productId, Times.Now(time), (current, hasActiveDeals) =>
        {
            if (!current.Archived && hasActiveDeals)
            {
                throw CatalogErrors.ProductHasActiveDeals(current.ProductId);
            }
        }, cancellationToken) ?? throw CatalogErrors.ProductNotFound(Ids.Format(productId));
        await cache.InvalidateAsync(productId);
        await ChangedAsync(productId);
        return product;
    }

    /// <summary>A page of products, possibly from memory (shared: callers never change it).</summary>
    public async Task<List<Product>> ListAsync(ProductFilter filter, PageCursor<DateTime>? after, int limit,
        CancellationToken cancellationToken)
    {
        var hot = pages.TryGet(filter, after, limit);
        if (pages.Enabled)
        {
            metrics.CacheLookup("product_page", hot is not null);
        }
        if (hot is not null)
        {
            return hot;
        }
        var version = pages.Version;
        var page = await store.ListAsync(filter, after, limit, cancellationToken);
        pages.Set(filter, after, limit, page, version);
        return page;
    }

    /// <summary>How many products match <paramref name="filter"/>, possibly from memory.</summary>
    public async Task<int> CountAsync(ProductFilter filter, CancellationToken cancellationToken)
    {
        var held = pages.TryGetCount(filter);
        if (pages.Enabled)
        {
            metrics.CacheLookup("product_count", held is not null);
        }
        if (held is { } count)
        {
            return count;
        }
        var version = pages.Version;
        var counted = await store.CountAsync(filter, cancellationToken);
        pages.SetCount(filter, counted, version);
        return counted;
    }

    /// <summary>After a committed product write: drop this replica's list pages and tell the other replicas.</summary>
    private async Task ChangedAsync(Guid productId)
    {
        pages.Invalidate();
        await redis.TryAsync(db => db.PublishAsync(RedisChannel.Literal(HotProductPages.UpdatesChannel), Ids.Format(productId)),
            always: true);
    }

    private static void Apply(Product target, Product source, string path)
    {
        switch (path)
        {
            case "name":
                target.Name = source.Name;
                break;
            case "description":
                target.Description = source.Description;
                break;
            case "category":
                target.Category = source.Category;
                break;
            case "list_price_cents":
                target.ListPriceCents = source.ListPriceCents;
                break;
            case "image_uri":
                target.ImageUri = source.ImageUri;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(path), path, "Not an updatable product field.");
        }
    }
}
