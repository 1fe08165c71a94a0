using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Grpc;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Orders.Tests;

/// <summary>Typed gRPC calls to an orders host, each with a user's bearer token.</summary>
public sealed class OrderClient(GrpcChannel channel, TestTokens tokens)
{
    private static readonly ServiceDescriptor Service = OrdersReflection.Descriptor.Services[0];

    public static readonly Method<PlaceOrderRequest, PlaceOrderResponse> PlaceOrderMethod = Find<PlaceOrderRequest, PlaceOrderResponse>("PlaceOrder");
    public static readonly Method<GetOrderRequest, GetOrderResponse> GetOrderMethod = Find<GetOrderRequest, GetOrderResponse>("GetOrder");
    public static readonly Method<ListMyOrdersRequest, ListMyOrdersResponse> ListMyOrdersMethod = Find<ListMyOrdersRequest, ListMyOrdersResponse>("ListMyOrders");
    public static readonly Method<PayOrderRequest, PayOrderResponse> PayOrderMethod = Find<PayOrderRequest, PayOrderResponse>("PayOrder");
    public static readonly Method<CancelOrderRequest, CancelOrderResponse> CancelOrderMethod = Find<CancelOrderRequest, CancelOrderResponse>("CancelOrder");

    public GrpcChannel Channel => channel;

    public Task<PlaceOrderResponse> PlaceAsync(string userId, Guid dealId, string idempotencyKey, int? quantity = null,
        TimeSpan? timeout = null)
    {
        var request = new PlaceOrderRequest { DealId = dealId.ToString("D"), IdempotencyKey = idempotencyKey };
        if (quantity is { } q)
        {
            request.Quantity = q;
        }
        return CallAsync(PlaceOrderMethod, request, userId, timeout);
    }

    public async Task<Order> GetAsync(string userId, string orderId) =>
        (await CallAsync(GetOrderMethod, new GetOrderRequest { OrderId = orderId }, userId)).Order;

    public Task<ListMyOrdersResponse> ListAsync(string userId, ListMyOrdersRequest request) =>
        CallAsync(ListMyOrdersMethod, request, userId);

    public async Task<Order> PayAsync(string userId, string orderId, string token) =>
        (await CallAsync(PayOrderMethod, new PayOrderRequest { OrderId = orderId, PaymentToken = token }, userId)).Order;

    public async Task<Order> CancelAsync(string userId, string orderId) =>
        (await CallAsync(CancelOrderMethod, new CancelOrderRequest { OrderId = orderId }, userId)).Order;

    public Task<TResponse> CallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request,
        string? userId, TimeSpan? timeout = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var headers = new Metadata();
        if (userId is not null)
        {
            headers.Add("authorization", tokens.Bearer(userId));
        }
        return channel.UnaryAsync(method, request,
            new CallOptions(headers, Deadline: DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10))));
    }

    private static Method<TReq, TRes> Find<TReq, TRes>(string name)
        where TReq : class, IMessage<TReq>, new()
        where TRes : class, IMessage<TRes>, new() =>
        Method<TReq, TRes>.FromDescriptor(Service.FindMethodByName(name));
}
