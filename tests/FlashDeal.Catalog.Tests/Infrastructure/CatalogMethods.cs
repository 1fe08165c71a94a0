using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Grpc;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Catalog.Tests.Infrastructure;

/// <summary>The CatalogService RPCs as client methods, built from the descriptor (no generated client here).</summary>
public static class CatalogMethods
{
    private static readonly ServiceDescriptor Service = CatalogReflection.Descriptor.FindTypeByName<ServiceDescriptor>("CatalogService");

    public static readonly Method<CreateProductRequest, CreateProductResponse> CreateProduct = Get<CreateProductRequest, CreateProductResponse>();
    public static readonly Method<UpdateProductRequest, UpdateProductResponse> UpdateProduct = Get<UpdateProductRequest, UpdateProductResponse>();
    public static readonly Method<ArchiveProductRequest, ArchiveProductResponse> ArchiveProduct = Get<ArchiveProductRequest, ArchiveProductResponse>();
    public static readonly Method<GetProductRequest, GetProductResponse> GetProduct = Get<GetProductRequest, GetProductResponse>();
    public static readonly Method<ListProductsRequest, ListProductsResponse> ListProducts = Get<ListProductsRequest, ListProductsResponse>();
    public static readonly Method<ListBestSellersRequest, ListBestSellersResponse> ListBestSellers = Get<ListBestSellersRequest, ListBestSellersResponse>();
    public static readonly Method<CreateDealRequest, CreateDealResponse> CreateDeal = Get<CreateDealRequest, CreateDealResponse>();
    public static readonly Method<UpdateDealRequest, UpdateDealResponse> UpdateDeal = Get<UpdateDealRequest, UpdateDealResponse>();
    public static readonly Method<CancelDealRequest, CancelDealResponse> CancelDeal = Get<CancelDealRequest, CancelDealResponse>();
    public static readonly Method<GetDealRequest, GetDealResponse> GetDeal = Get<GetDealRequest, GetDealResponse>();
    public static readonly Method<ListDealsRequest, ListDealsResponse> ListDeals = Get<ListDealsRequest, ListDealsResponse>();
    public static readonly Method<WatchDealRequest, WatchDealResponse> WatchDeal = Get<WatchDealRequest, WatchDealResponse>();

    private static Method<TRequest, TResponse> Get<TRequest, TResponse>()
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Method<TRequest, TResponse>.FromDescriptor(
            Service.Methods.Single(m => m.InputType.ClrType == typeof(TRequest)));
}
