using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Payments;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using ConnectionMultiplexer = StackExchange.Redis.ConnectionMultiplexer;
using IDatabase = StackExchange.Redis.IDatabase;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>PayOrder, CancelOrder and expiry: status changes and the units they return.</summary>
[Collection(DataServers.Name)]
public sealed class OrderLifecycleTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private OrdersHost _host = null!;

    private IDatabase Redis => Connection.GetDatabase();

    private OrderClient Client => _host.Client;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString);
    }

    public override async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await base.DisposeAsync();
    }

    private async Task<(TestDeal Deal, Order Order)> PlaceAsync(string user, int quantity = 1, int stock = 10)
    {
        var deal = await new TestDeal { Stock = stock }.WriteAsync(Redis);
        return (deal, (await Client.PlaceAsync(user, deal.DealId, "k", quantity)).Order);
    }

    [Fact]
    public async Task PayingMarksThOrderPaidAndIsIdempotentPerToken()
    {
        var (deal, order) = await PlaceAsync("quinn", quantity: 2);

        var paid = await Client.PayAsync("quinn", order.OrderId, "tok_visa");
        var again = await Client.PayAsync("quinn", order.OrderId, "tok_visa");

        Assert.Equal(OrderStatus.Paid, paid.Status);
        Assert.StartsWith("sandbox_", paid.PaymentReference);
        Assert.NotNull(paid.PaidTime);
        Assert.Equal(paid, again);
        Assert.Single(((SandboxPaymentProvider)_host.Services.GetRequiredService<IPaymentProvider>()).Charges.Values,
            c => c.OrderId.ToString() == order.OrderId && c.AmountCents == 2 * deal.PriceCents);
        await Assertions.RefusedAsync(Client.PayAsync("quinn", order.OrderId, "tok_other"), StatusCode.FailedPrecondition,
            "ORDER_ALREADY_PAID");
        Assert.Equal(8, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(paid, await Client.GetAsync("quinn", order.OrderId));
    }

    [Fact]
    public async Task ADeclinedPaymentLeavesTheOrderPending()
    {
        var (_, order) = await PlaceAsync("rae");

        await Assertions.RefusedAsync(Client.PayAsync("rae", order.OrderId, SandboxPaymentProvider.DeclineToken),
            StatusCode.FailedPrecondition, "PAYMENT_DECLINED");
        await Assertions.RefusedAsync(Client.PayAsync("rae", order.OrderId, SandboxPaymentProvider.UnavailableToken),
            StatusCode.Unavailable, "PAYMENT_PROVIDER_UNAVAILABLE");

        Assert.Equal(OrderStatus.PendingPayment, (await Client.GetAsync("rae", order.OrderId)).Status);
        Assert.Equal(OrderStatus.Paid, (await Client.PayAsync("rae", order.OrderId, "tok_visa")).Status);
    }

    [Fact]
    public async Task CancellingReturnsTheUnitsOnceAndIsIdempotent()
    {
        var (deal, order) = await PlaceAsync("sam", quantity: 3);
        Assert.Equal(7, await TestDeal.RemainingAsync(Redis, deal.DealId));

        var cancelled = await Client.CancelAsync("sam", order.OrderId);
        var again = await Client.CancelAsync("sam", order.OrderId);

        Assert.Equal(OrderStatus.Cancelled, cancelled.Status);
        Assert.NotNull(cancelled.CancelTime);
        Assert.Equal(cancelled, again);
        Assert.Equal(10, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(0, (int)await Redis.HashGetAsync(OrderKeys.Buyers(deal.DealId), "sam"));
        await Assertions.RefusedAsync(Client.PayAsync("sam", order.OrderId, "tok_visa"), StatusCode.FailedPrecondition,
            "ORDER_CANCELLED");
        var replay = await Client.PlaceAsync("sam", deal.DealId, "k", quantity: 3);
        Assert.True(replay.Replayed);
        Assert.Equal(OrderStatus.Cancelled, replay.Order.Status);
    }

    [Fact]
    public async Task OnlyTheBuyerMayPayOrCancel()
    {
        var (_, order) = await PlaceAsync("tia");
        await Assertions.RefusedAsync(Client.PayAsync("eve", order.OrderId, "tok_visa"), StatusCode.NotFound, "ORDER_NOT_FOUND");
        await Assertions.RefusedAsync(Client.CancelAsync("eve", order.OrderId), StatusCode.NotFound, "ORDER_NOT_FOUND");
        await Assertions.InvalidAsync(Client.PayAsync("tia", order.OrderId, ""), "payment_token");
        await Assertions.InvalidAsync(Client.CancelAsync("tia", "nope"), "order_id");
    }

    [Fact]
    public async Task PayAndCancelWorkOverRest()
    {
        var (_, first) = await PlaceAsync("uma");
        var (_, second) = await PlaceAsync("uma");

        var paid = await PostAsync($"/v1/orders/{first.OrderId}:pay", "uma", new { paymentToken = "tok_visa" });
        var cancelled = await PostAsync($"/v1/orders/{second.OrderId}:cancel", "uma", new { });
        var declined = await PostAsync($"/v1/orders/{first.OrderId}:pay", "uma", new { paymentToken = "tok_other" });

        Assert.Equal((HttpStatusCode.OK, "ORDER_STATUS_PAID"), (paid.Status, paid.Json.GetProperty("order").GetProperty("status").GetString()));
        Assert.Equal("ORDER_STATUS_CANCELLED", cancelled.Json.GetProperty("order").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, declined.Status);
        Assert.Contains("ORDER_ALREADY_PAID", declined.Json.ToString());
    }

    [Fact]
    public async Task UnpaidOrdersExpireAndReturnTheirUnits()
    {
        await using var host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString,
            new Dictionary<string, string?> { ["Orders:PayWindow"] = "00:00:00.500", ["Orders:ExpirySweepInterval"] = "00:00:00.100" });
        var deal = await new TestDeal { Stock = 5 }.WriteAsync(Redis);
        var order = (await host.Client.PlaceAsync("val", deal.DealId, "k", quantity: 2)).Order;

        await Eventually.HoldsAsync(async () => (await host.Client.GetAsync("val", order.OrderId)).Status == OrderStatus.Expired,
            "the order expires");

        Assert.Equal(5, await TestDeal.RemainingAsync(Redis, deal.DealId));
        await Assertions.RefusedAsync(host.Client.PayAsync("val", order.OrderId, "tok_visa"), StatusCode.FailedPrecondition, "ORDER_EXPIRED");
        await Assertions.RefusedAsync(host.Client.CancelAsync("val", order.OrderId), StatusCode.FailedPrecondition, "ORDER_EXPIRED");
        await PostgresOrders.WaitForStatusAsync(database.DataSource, deal.DealId, rows => rows is [{ Status: "EXPIRED" }],
            "EXPIRED reaches PostgreSQL");
    }

    [Fact]
    public async Task PayingAfterTheDeadlineExpiresTheOrderAtOnce()
    {
        await using var host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString,
            new Dictionary<string, string?> { ["Orders:PayWindow"] = "00:00:00.200", ["Orders:ExpirySweepInterval"] = "01:00:00" });
        var deal = await new TestDeal { Stock = 5 }.WriteAsync(Redis);
        var order = (await host.Client.PlaceAsync("wes", deal.DealId, "k")).Order;
        await Task.Delay(300);

        await Assertions.RefusedAsync(host.Client.PayAsync("wes", order.OrderId, "tok_visa"), StatusCode.FailedPrecondition, "ORDER_EXPIRED");

        Assert.Equal(5, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Empty(((SandboxPaymentProvider)host.Services.GetRequiredService<IPaymentProvider>()).Charges);
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(string path, string user, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("authorization", TestTokens.Shared.Bearer(user));
        using var response = await _host.Http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}
