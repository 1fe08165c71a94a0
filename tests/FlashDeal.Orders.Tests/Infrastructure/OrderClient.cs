using FlashDeal.Contracts.Orders.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlashDeal.Orders.Tests;

/// <summary>The generated OrderService client on one orders host, each call with a user's bearer token.</summary>
public sealed class OrderClient(GrpcChannel channel, TestTokens tokens)
{
    /// <summary>Long enough for a busy machine; tests about deadlines pass their own.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public GrpcChannel Channel => channel;

    public OrderService.OrderServiceClient Grpc { get; } = new(channel);

    public Task<PlaceOrderResponse> PlaceAsync(string userId, Guid dealId, string idempotencyKey, int? quantity = null,
        TimeSpan? timeout = null)
    {
        var request = new PlaceOrderRequest { DealId = dealId.ToString("D"), IdempotencyKey = idempotencyKey };
        if (quantity is { } q)
        {
            request.Quantity = q;
        }
        return PlaceAsync(request, userId, timeout);
    }

    /// <summary>Any request as is; without a user the call carries no token.</summary>
    public Task<PlaceOrderResponse> PlaceAsync(PlaceOrderRequest request, string? userId, TimeSpan? timeout = null) =>
        Grpc.PlaceOrderAsync(request, Options(userId, timeout)).ResponseAsync;

    public async Task<Order> GetAsync(string userId, string orderId) =>
        (await Grpc.GetOrderAsync(new GetOrderRequest { OrderId = orderId }, Options(userId))).Order;

    public Task<ListMyOrdersResponse> ListAsync(string userId, ListMyOrdersRequest request) =>
        Grpc.ListMyOrdersAsync(request, Options(userId)).ResponseAsync;

    public async Task<Order> PayAsync(string userId, string orderId, string token) =>
        (await Grpc.PayOrderAsync(new PayOrderRequest { OrderId = orderId, PaymentToken = token }, Options(userId))).Order;

    public async Task<Order> CancelAsync(string userId, string orderId) =>
        (await Grpc.CancelOrderAsync(new CancelOrderRequest { OrderId = orderId }, Options(userId))).Order;

    /// <summary>The user's bearer token (none without a user), <paramref name="extra"/> headers, and a deadline.</summary>
    public CallOptions Options(string? userId, TimeSpan? timeout = null, params (string Key, string Value)[] extra)
    {
        var headers = new Metadata();
        if (userId is not null)
        {
            headers.Add("authorization", tokens.Bearer(userId));
        }
        foreach (var (key, value) in extra)
        {
            headers.Add(key, value);
        }
        return new CallOptions(headers, DateTime.UtcNow + (timeout ?? DefaultTimeout));
    }
}
