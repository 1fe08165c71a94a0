using FlashDeal.Catalog.BestSellers;
using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Catalog.Products;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using FlashDeal.Security;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;

namespace FlashDeal.Catalog.Grpc;

/// <summary>
/// flashdeal.catalog.v1.CatalogService over gRPC and REST (transcoding). Thin: checks the request, calls the
/// catalog, shapes the response. Writes need an admin; reads are public. The RPCs are split over partial files by
/// resource (Products, Deals, BestSellers).
/// </summary>
[Authorize(Policy = AuthPolicies.Admin)]
[EnableRateLimiting("catalog-admin")]
public sealed partial class CatalogApi(
    ProductCatalog products, DealCatalog deals, DealWatchHub watches, BestSellerRanking bestSellers, TimeProvider time)
    : CatalogService.CatalogServiceBase
{
    /// <summary>
    /// Default rate limits per user (anonymous readers: per client address) and replica (docs/rate-limits.md);
    /// RateLimits:Policies:&lt;name&gt; overrides them. Reads are cheap and cached, so they are generous.
    /// </summary>
    public static readonly Dictionary<string, RateLimitPolicyOptions> RateLimitPolicies = new()
    {
        ["catalog-read"] = new() { PermitsPerSecond = 50, Burst = 100 },
        ["catalog-watch"] = new() { PermitsPerSecond = 1, Burst = 5 },
        ["catalog-admin"] = new() { PermitsPerSecond = 20, Burst = 50 },
    };

    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    /// <summary>Response metadata saying where remaining_stock came from: "redis" (live) or "fallback" (best effort).</summary>
    public const string StockSourceHeader = "flashdeal-stock-source";

    private static int PageSize(int requested, FieldViolations violations, string field = "page_size",
        int defaultSize = DefaultPageSize)
    {
        violations.Check(requested >= 0, field, "must not be negative");
        return requested switch
        {
            <= 0 => defaultSize,
            > MaxPageSize => MaxPageSize,
            _ => requested,
        };
    }

    /// <summary>A required id: empty is INVALID_ARGUMENT; anything that is not one of ours can only be NOT_FOUND.</summary>
    private static Guid RequireId(string value, string field, Func<string, RpcException> notFound)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw RpcErrors.InvalidArgument((field, "is required"));
        }
        return Ids.TryParse(value, out var id) ? id : throw notFound(value);
    }

    private static PageCursor<DateTime>? DecodePageToken(string token, string scope)
    {
        try
        {
            return PageToken.Decode<DateTime>(token, scope);
        }
        catch (InvalidPageTokenException e)
        {
            throw RpcErrors.InvalidArgument((e.Field, e.Description));
        }
    }

    private static HashSet<string> MaskPaths(FieldMask? mask, IReadOnlySet<string> mutable, IReadOnlySet<string> immutable,
        FieldViolations violations)
    {
        if (mask is null || mask.Paths.Count == 0)
        {
            violations.Add("update_mask", "is required: name the fields to change");
            return [];
        }
        foreach (var path in mask.Paths.Where(p => !mutable.Contains(p)))
        {
            violations.Add("update_mask", immutable.Contains(path) ? $"{path} is immutable" : $"{path} cannot be updated");
        }
        return mask.Paths.Where(mutable.Contains).ToHashSet(StringComparer.Ordinal);
    }

    private DateTime Now => Times.Now(time);
}
