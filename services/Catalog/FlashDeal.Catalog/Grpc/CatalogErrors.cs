using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using Grpc.Core;

namespace FlashDeal.Catalog.Grpc;

/// <summary>Errors with google.rpc.ErrorInfo in domain catalog.flashdeal.dev (reason = CatalogErrorReason value name).</summary>
public static class CatalogErrors
{
    public const string Domain = "catalog.flashdeal.dev";

    public static RpcException ProductNotFound(string productId) =>
        Error(StatusCode.NotFound, CatalogErrorReason.ProductNotFound, $"Product {productId} not found.", "product_id", productId);

    public static RpcException ProductArchived(string productId) =>
        Error(StatusCode.FailedPrecondition, CatalogErrorReason.ProductArchived, $"Product {productId} is archived.",
            "product_id", productId);

    public static RpcException ProductHasActiveDeals(string productId) =>
        Error(StatusCode.FailedPrecondition, CatalogErrorReason.ProductHasActiveDeals,
            $"Product {productId} has upcoming or open deals; cancel them first.", "product_id", productId);

    public static RpcException DealNotFound(string dealId) =>
        Error(StatusCode.NotFound, CatalogErrorReason.DealNotFound, $"Deal {dealId} not found.", "deal_id", dealId);

    public static RpcException DealAlreadyStarted(string dealId) =>
        Error(StatusCode.FailedPrecondition, CatalogErrorReason.DealAlreadyStarted,
            $"Deal {dealId} has started; stock, price and window are frozen once a deal opens.", "deal_id", dealId);

    public static RpcException DealAlreadyEnded(string dealId) =>
        Error(StatusCode.FailedPrecondition, CatalogErrorReason.DealAlreadyEnded, $"Deal {dealId} has ended.", "deal_id", dealId);

    public static RpcException DealCancelled(string dealId) =>
        Error(StatusCode.FailedPrecondition, CatalogErrorReason.DealCancelled, $"Deal {dealId} is cancelled.", "deal_id", dealId);

    public static string ReasonName(CatalogErrorReason reason) =>
        CatalogErrorsReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>(nameof(CatalogErrorReason))
            .FindValueByNumber((int)reason).Name;

    private static RpcException Error(StatusCode code, CatalogErrorReason reason, string detail, string key, string id) =>
        RpcErrors.WithReason(code, ReasonName(reason), Domain, detail, new Dictionary<string, string> { [key] = id });
}
