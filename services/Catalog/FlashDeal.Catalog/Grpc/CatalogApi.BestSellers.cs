using FlashDeal.Catalog.Products;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;

namespace FlashDeal.Catalog.Grpc;

public sealed partial class CatalogApi
{
    private const int DefaultBestSellerLimit = 10;

    [AllowAnonymous]
    [EnableRateLimiting("catalog-read")]
    public override async Task<ListBestSellersResponse> ListBestSellers(ListBestSellersRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations()
            .Check(request.Window is >= BestSellerWindow.Unspecified and <= BestSellerWindow.AllTime, "window",
                $"{request.Window} is not a best-seller window")
            .Check(request.Category.Length == 0 || ProductRules.IsCategory(request.Category), "category",
                "must be a lower-case slug of [a-z0-9-], 1 to 64 characters");
        var limit = PageSize(request.Limit, violations, "limit", DefaultBestSellerLimit);
        violations.ThrowIfAny();
        return await bestSellers.ListAsync(request.Window, limit, request.Category, context.CancellationToken);
    }
}
