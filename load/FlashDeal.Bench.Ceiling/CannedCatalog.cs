using FlashDeal.Contracts.Catalog.V1;
using Grpc.Core;

namespace FlashDeal.Bench.Ceiling;

/// <summary>GetDeal answering the reply captured from the real catalog service; every other method is unimplemented.</summary>
public sealed class CannedCatalog(GetDealResponse reply) : CatalogService.CatalogServiceBase
{
    public override Task<GetDealResponse> GetDeal(GetDealRequest request, ServerCallContext context) => Task.FromResult(reply);
}
