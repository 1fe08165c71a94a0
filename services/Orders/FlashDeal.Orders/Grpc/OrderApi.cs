using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Data;
using FlashDeal.Orders.Lifecycle;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Placement;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace FlashDeal.Orders.Grpc;

/// <summary>flashdeal.orders.v1.OrderService over gRPC and REST: validate, call the domain, map to proto.</summary>
[Authorize]
[EnableRateLimiting("orders-read")]
public sealed class OrderApi(
    IOrderPlacement placement,
    OrderReader reader,
    OrderStore store,
    OrderLifecycle lifecycle,
    OrdersMetrics metrics,
    IOptions<OrdersOptions> options) : OrderService.OrderServiceBase
{
    /// <summary>
    /// Default rate limits per user and replica (docs/rate-limits.md); RateLimits:Policies:&lt;name&gt; overrides them.
    /// A buyer clicks "buy" once or twice; a loop gets 5 at once, then 3 a second. The deal's own per-user limit decides
    /// how many units anybody gets.
    /// </summary>
    public static readonly Dictionary<string, RateLimitPolicyOptions> RateLimitPolicies = new()
    {
        ["place-order"] = new() { PermitsPerSecond = 3, Burst = 5 },
        ["orders-write"] = new() { PermitsPerSecond = 5, Burst = 10 },
        ["orders-read"] = new() { PermitsPerSecond = 20, Burst = 40 },
    };

    private static readonly PlaceOrderResponse RefusedPlaceholder = new();
    private readonly OrdersOptions _options = options.Value;

    [EnableRateLimiting("place-order")]
    public override Task<PlaceOrderResponse> PlaceOrder(PlaceOrderRequest request, ServerCallContext context)
    {
        var (dealId, quantity) = OrderRequests.Validate(request, _options.MaxQuantity);
        var user = context.RequireUser();
        var placing = placement.PlaceAsync(new PlaceOrderCommand(dealId, user.UserId, request.IdempotencyKey, quantity,
            request.CouponId.Length == 0 ? null : request.CouponId), context.CancellationToken);
        // The flood after a sell-out is answered from memory and completes synchronously, and a gRPC caller's refusal ends
        // the call through its status instead of an exception: every throw and rethrow costs microseconds of CPU on the
        // call most buyers make (RpcErrors.Refuse, docs/benchmarks.md).
        return placing.IsCompletedSuccessfully
            ? Answer(placing.Result, dealId, context)
            : AnswerAsync(placing, dealId, context);
    }

    private async Task<PlaceOrderResponse> AnswerAsync(Task<PlacementResult> placing, Guid dealId,
        ServerCallContext context)
    {
        PlacementResult result;
        try
        {
            result = await placing.ConfigureAwait(false);
        }
        catch (Exception e) when (OrderErrors.Translate(e) is { } status)
        {
            metrics.Placement("UNAVAILABLE", _options.Strategy);
            throw status;
        }
        return await Answer(result, dealId, context).ConfigureAwait(false);
    }

    private Task<PlaceOrderResponse> Answer(PlacementResult result, Guid dealId, ServerCallContext context)
    {
        if (result.Refusal is { } refusal)
        {
            metrics.Placement(OrderErrors.ReasonName(refusal.Reason), _options.Strategy,
                IsAboutLiveDeal(refusal.Reason) ? dealId : null);
            return RpcErrors.Refuse(context, OrderErrors.ToStatus(refusal), RefusedPlaceholder);
        }
        metrics.Placement(result.Replayed ? "REPLAYED" : "ACCEPTED", _options.Strategy, dealId);
        return Task.FromResult(new PlaceOrderResponse { Order = result.Order!.ToProto(), Replayed = result.Replayed });
    }

    /// <summary>Refusals only a live deal gives (its stock, its per-user limit); any other refusal may name a deal id
    /// the caller made up.</summary>
    private static bool IsAboutLiveDeal(OrderErrorReason reason) => reason is OrderErrorReason.SoldOut
        or OrderErrorReason.InsufficientStock or OrderErrorReason.PerUserLimitReached;

    public override async Task<GetOrderResponse> GetOrder(GetOrderRequest request, ServerCallContext context)
    {
        var orderId = OrderRequests.OrderId(request.OrderId);
        var user = context.RequireUser();
        try
        {
            var order = await reader.FindAsync(orderId, context.CancellationToken).ConfigureAwait(false);
            return order is not null && order.UserId == user.UserId
                ? new GetOrderResponse { Order = order.ToProto() }
                : throw new OrderRefusalException(Refusals.OrderNotFound(request.OrderId));
        }
        catch (Exception e) when (OrderErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }

    public override async Task<ListMyOrdersResponse> ListMyOrders(ListMyOrdersRequest request, ServerCallContext context)
    {
        var (pageSize, dealId, statuses) = OrderRequests.Validate(request);
        var user = context.RequireUser();
        var scope = $"orders.ListMyOrders|{user.UserId}|{dealId}|{string.Join(',', statuses)}";
        PageCursor<DateTimeOffset>? after;
        try
        {
            after = PageToken.Decode<DateTimeOffset>(request.PageToken, scope);
        }
        catch (InvalidPageTokenException e)
        {
            throw RpcErrors.InvalidArgument((e.Field, e.Description));
        }
        try
        {
            var rows = await store.ListByUserAsync(user.UserId, statuses, dealId,
                after is { } cursor ? (cursor.SortKey, cursor.Id) : null, pageSize + 1, context.CancellationToken)
                .ConfigureAwait(false);
            var response = new ListMyOrdersResponse();
            response.Orders.AddRange(rows.Take(pageSize).Select(o => o.ToProto()));
            if (rows.Count > pageSize)
            {
                var last = rows[pageSize - 1];
                response.NextPageToken = PageToken.Encode(last.CreateTime, last.OrderId, scope);
            }
            return response;
        }
        catch (Exception e) when (OrderErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }

    [EnableRateLimiting("orders-write")]
    public override async Task<PayOrderResponse> PayOrder(PayOrderRequest request, ServerCallContext context)
    {
        var orderId = OrderRequests.ValidatePay(request);
        var user = context.RequireUser();
        try
        {
            var order = await lifecycle.PayAsync(orderId, user.UserId, request.PaymentToken, context.CancellationToken)
                .ConfigureAwait(false);
            return new PayOrderResponse { Order = order.ToProto() };
        }
        catch (Exception e) when (OrderErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }

    [EnableRateLimiting("orders-write")]
    public override async Task<CancelOrderResponse> CancelOrder(CancelOrderRequest request, ServerCallContext context)
    {
        var orderId = OrderRequests.OrderId(request.OrderId);
        var user = context.RequireUser();
        try
        {
            var order = await lifecycle.CancelAsync(orderId, user.UserId, context.CancellationToken).ConfigureAwait(false);
            return new CancelOrderResponse { Order = order.ToProto() };
        }
        catch (Exception e) when (OrderErrors.Translate(e) is { } status)
        {
            throw status;
        }
    }
}
