using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Catalog.Products;
using FlashDeal.Contracts.Catalog.V1;

namespace FlashDeal.Catalog.BestSellers;

/// <summary>
/// ListBestSellers: the ranking from Redis, named from catalog.products; from the PostgreSQL backup when Redis is
/// unavailable. A category ranking filters the top <see cref="CatalogOptions.BestSellerBackupSize"/> of the window.
/// </summary>
public sealed class BestSellerRanking(
    BestSellers bestSellers, BestSellerStore backup, ProductStore products,
    Microsoft.Extensions.Options.IOptions<CatalogOptions> options, TimeProvider time)
{
    public async Task<ListBestSellersResponse> ListAsync(BestSellerWindow window, int limit, string category,
        CancellationToken cancellationToken)
    {
        window = BestSellerKeys.Normalize(window);
        var response = new ListBestSellersResponse { Window = window };
        var ranking = await bestSellers.TopAsync(window, category.Length > 0 ? options.Value.BestSellerBackupSize : limit);
        if (ranking is null)
        {
            var (entries, computeTime) = await backup.ReadAsync(window, limit, category, cancellationToken);
            response.BestSellers.AddRange(entries);
            response.ComputeTime = Times.ToTimestamp(computeTime ?? Times.Now(time));
            return response;
        }
        var named = await products.GetManyAsync(ranking.Entries.Select(e => e.ProductId).ToList(), cancellationToken);
        foreach (var entry in ranking.Entries)
        {
            if (response.BestSellers.Count == limit)
            {
                break;
            }
            if (!named.TryGetValue(entry.ProductId, out var product) || (category.Length > 0 && product.Category != category))
            {
                continue;
            }
            response.BestSellers.Add(new BestSeller
            {
                Rank = response.BestSellers.Count + 1,
                ProductId = product.ProductId,
                ProductName = product.Name,
                ImageUri = product.ImageUri,
                UnitsSold = entry.UnitsSold,
            });
        }
        response.ComputeTime = Times.ToTimestamp(Times.Truncate(ranking.ComputeTime));
        return response;
    }
}
