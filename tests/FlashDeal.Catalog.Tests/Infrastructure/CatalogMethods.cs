using FlashDeal.Contracts.Catalog.V1;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.Infrastructure;

/// <summary>One unary RPC of the generated CatalogService client.</summary>
public delegate AsyncUnaryCall<TResponse> CatalogRpc<TRequest, TResponse>(
    CatalogService.CatalogServiceClient client, TRequest request, CallOptions options);

/// <summary>
/// The unary CatalogService RPCs of the generated client, named so the fixture's helpers (CallAsync, AdminAsync,
/// FailsAsync) can call any of them with the caller's token and a deadline (WatchDeal: CatalogFixture.Watch).
/// </summary>
public static class CatalogMethods
{
    public static readonly CatalogRpc<CreateProductRequest, CreateProductResponse> CreateProduct =
        (c, r, o) => c.CreateProductAsync(r, o);
    public static readonly CatalogRpc<UpdateProductRequest, UpdateProductResponse> UpdateProduct =
        (c, r, o) => c.UpdateProductAsync(r, o);
    public static readonly CatalogRpc<ArchiveProductRequest, ArchiveProductResponse> ArchiveProduct =
        (c, r, o) => c.ArchiveProductAsync(r, o);
    public static readonly CatalogRpc<GetProductRequest, GetProductResponse> GetProduct =
        (c, r, o) => c.GetProductAsync(r, o);
    public static readonly CatalogRpc<ListProductsRequest, ListProductsResponse> ListProducts =
        (c, r, o) => c.ListProductsAsync(r, o);
    public static readonly CatalogRpc<ListBestSellersRequest, ListBestSellersResponse> ListBestSellers =
        (c, r, o) => c.ListBestSellersAsync(r, o);
    public static readonly CatalogRpc<CreateDealRequest, CreateDealResponse> CreateDeal =
        (c, r, o) => c.CreateDealAsync(r, o);
    public static readonly CatalogRpc<UpdateDealRequest, UpdateDealResponse> UpdateDeal =
        (c, r, o) => c.UpdateDealAsync(r, o);
    public static readonly CatalogRpc<CancelDealRequest, CancelDealResponse> CancelDeal =
        (c, r, o) => c.CancelDealAsync(r, o);
    public static readonly CatalogRpc<GetDealRequest, GetDealResponse> GetDeal =
        (c, r, o) => c.GetDealAsync(r, o);
    public static readonly CatalogRpc<ListDealsRequest, ListDealsResponse> ListDeals =
        (c, r, o) => c.ListDealsAsync(r, o);
}
