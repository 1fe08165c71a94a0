using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using FlashDeal.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;

namespace FlashDeal.Catalog.Grpc;

public sealed partial class CatalogApi
{
    private const int MaxCancelReasonLength = 500;
    private static readonly IReadOnlySet<string> ImmutableDealPaths = new HashSet<string>(["deal_id", "product_id"]);

    public override async Task<CreateDealResponse> CreateDeal(CreateDealRequest request, ServerCallContext context)
    {
        if (request.Deal is null)
        {
            throw RpcErrors.InvalidArgument(("deal", "is required"));
        }
        DealRules.Check(request.Deal, Now).ThrowIfAny();
        if (!Ids.TryParse(request.Deal.ProductId, out var productId))
        {
            throw CatalogErrors.ProductNotFound(request.Deal.ProductId);
        }
        var deal = await deals.CreateAsync(productId, request.Deal, context.CancellationToken);
        return new CreateDealResponse { Deal = Respond(deal, context) };
    }

    public override async Task<UpdateDealResponse> UpdateDeal(UpdateDealRequest request, ServerCallContext context)
    {
        if (request.Deal is null)
        {
            throw RpcErrors.InvalidArgument(("deal", "is required"));
        }
        var dealId = RequireId(request.Deal.DealId, "deal.deal_id", CatalogErrors.DealNotFound);
        var violations = new FieldViolations();
        var paths = MaskPaths(request.UpdateMask, DealRules.MutablePaths, ImmutableDealPaths, violations);
        violations.ThrowIfAny();
        DealRules.Check(request.Deal, Now, paths, relations: false).ThrowIfAny();
        var deal = await deals.UpdateAsync(dealId, request.Deal, paths, context.CancellationToken);
        return new UpdateDealResponse { Deal = Respond(deal, context) };
    }

    public override async Task<CancelDealResponse> CancelDeal(CancelDealRequest request, ServerCallContext context)
    {
        var dealId = RequireId(request.DealId, "deal_id", CatalogErrors.DealNotFound);
        new FieldViolations().MaxLength(request.Reason, MaxCancelReasonLength, "reason").ThrowIfAny();
        var deal = await deals.CancelAsync(dealId, request.Reason, context.CancellationToken);
        return new CancelDealResponse { Deal = Respond(deal, context) };
    }

    [AllowAnonymous]
    [EnableRateLimiting("catalog-read")]
    public override async Task<GetDealResponse> GetDeal(GetDealRequest request, ServerCallContext context)
    {
        var dealId = RequireId(request.DealId, "deal_id", CatalogErrors.DealNotFound);
        var deal = await deals.GetAsync(dealId, context.CancellationToken) ?? throw CatalogErrors.DealNotFound(request.DealId);
        return new GetDealResponse { Deal = Respond(deal, context), ServerTime = Times.ToTimestamp(deal.ServerTime) };
    }

    [AllowAnonymous]
    [EnableRateLimiting("catalog-read")]
    public override async Task<ListDealsResponse> ListDeals(ListDealsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var pageSize = PageSize(request.PageSize, violations);
        foreach (var state in request.States)
        {
            violations.Check(state is > DealState.Unspecified and <= DealState.Cancelled, "states",
                $"{state} is not a deal state");
        }
        violations.ThrowIfAny();
        var states = request.States.ToHashSet();
        // An id that is not one of ours matches no deal; ids are opaque to clients.
        Guid? productId = null;
        if (request.ProductId.Length > 0)
        {
            if (!Ids.TryParse(request.ProductId, out var id))
            {
                return new ListDealsResponse { ServerTime = Times.ToTimestamp(Now) };
            }
            productId = id;
        }
        var scope = $"catalog.ListDeals\n{string.Join(',', states.Order())}\n{request.ProductId}";
        var after = DecodePageToken(request.PageToken, scope);
        var (page, next, serverTime) = await deals.ListAsync(states, productId, after, pageSize, context.CancellationToken);
        var response = new ListDealsResponse { ServerTime = Times.ToTimestamp(serverTime) };
        response.Deals.AddRange(page);
        if (next is { } cursor)
        {
            response.NextPageToken = PageToken.Encode(cursor, scope);
        }
        return response;
    }

    [AllowAnonymous]
    [EnableRateLimiting("catalog-watch")]
    public override async Task WatchDeal(WatchDealRequest request, IServerStreamWriter<WatchDealResponse> responseStream,
        ServerCallContext context)
    {
        var dealId = RequireId(request.DealId, "deal_id", CatalogErrors.DealNotFound);
        var http = context.GetHttpContext();
        if (!ErrorResponses.IsGrpc(http.Request))
        {
            // Transcoding writes each message and its newline to Kestrel's response stream, which sends every write
            // (compression skips streams: RestCompression); this asks nginx-based proxies on the way not to hold them.
            http.Response.Headers["X-Accel-Buffering"] = "no";
        }
        // One loop writes every message (snapshots and heartbeats), so writes never overlap. A stopping replica ends
        // the feed; ServiceInterceptor answers that with UNAVAILABLE (watch again elsewhere).
        await foreach (var response in watches.WatchAsync(dealId, context.CancellationToken))
        {
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
    }

    /// <summary>Says where remaining_stock came from: a gRPC trailer, and for REST callers a response header.</summary>
    private static Deal Respond(LiveDeal deal, ServerCallContext context)
    {
        var source = deal.LiveStock ? "redis" : "fallback";
        context.ResponseTrailers.Add(StockSourceHeader, source);
        var http = context.GetHttpContext();
        if (!ErrorResponses.IsGrpc(http.Request))
        {
            http.Response.Headers[StockSourceHeader] = source;
        }
        return deal.Deal;
    }
}
