using System.Net;
using System.Text.Json;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using ConnectionMultiplexer = StackExchange.Redis.ConnectionMultiplexer;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>GetOrder and ListMyOrders over gRPC and REST.</summary>
[Collection(DataServers.Name)]
public sealed class OrderQueryTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private OrdersHost _host = null!;

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

    [Fact]
    public async Task GetOrderSeesAnAcceptedOrderBeforeItReachesPostgres()
    {
        await using var noConsumer = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString,
            new Dictionary<string, string?> { ["Orders:Stream:ConsumerEnabled"] = "false" });
        await _host.DisposeAsync(); // its consumer would persist the order
        var deal = await new TestDeal().WriteAsync(Connection.GetDatabase());
        var placed = await noConsumer.Client.PlaceAsync("gina", deal.DealId, "k", quantity: 2);

        var read = await noConsumer.Client.GetAsync("gina", placed.Order.OrderId);

        Assert.Equal(placed.Order, read);
        Assert.Empty(await PostgresOrders.OfDealAsync(database.DataSource, deal.DealId));
        _host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString);
    }

    [Fact]
    public async Task GetOrderReadsPersistedOrdersOverGrpcAndRest()
    {
        var deal = await new TestDeal().WriteAsync(Connection.GetDatabase());
        var placed = await Client.PlaceAsync("hal", deal.DealId, "k");
        await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 1);

        var read = await Client.GetAsync("hal", placed.Order.OrderId);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/orders/{placed.Order.OrderId}");
        request.Headers.Add("authorization", TestTokens.Shared.Bearer("hal"));
        using var response = await _host.Http.SendAsync(request);

        Assert.Equal(placed.Order, read);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(placed.Order.OrderId, json.RootElement.GetProperty("order").GetProperty("orderId").GetString());
    }

    [Fact]
    public async Task AnotherUsersOrderIsNotFoundAndABadIdIsInvalid()
    {
        var deal = await new TestDeal().WriteAsync(Connection.GetDatabase());
        var placed = await Client.PlaceAsync("ivy", deal.DealId, "k");

        var info = await Assertions.RefusedAsync(Client.GetAsync("mallory", placed.Order.OrderId), StatusCode.NotFound,
            "ORDER_NOT_FOUND");
        await Assertions.RefusedAsync(Client.GetAsync("ivy", Guid.NewGuid().ToString()), StatusCode.NotFound, "ORDER_NOT_FOUND");
        await Assertions.InvalidAsync(Client.GetAsync("ivy", "42"), "order_id");

        Assert.Equal(placed.Order.OrderId, info.Metadata["order_id"]);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/orders/{placed.Order.OrderId}");
        request.Headers.Add("authorization", TestTokens.Shared.Bearer("mallory"));
        using var response = await _host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ListMyOrdersPagesNewestFirstWithoutGapsOrRepeats()
    {
        var deals = new[]
        {
            await new TestDeal { PerUserLimit = 20 }.WriteAsync(Connection.GetDatabase()),
            await new TestDeal { PerUserLimit = 20 }.WriteAsync(Connection.GetDatabase()),
        };
        var placed = new List<Order>();
        for (var i = 0; i < 23; i++)
        {
            placed.Add((await Client.PlaceAsync("jo", deals[i % 2].DealId, $"k{i}", quantity: 1)).Order);
        }
        await Client.PlaceAsync("someone-else", deals[0].DealId, "k");
        await PostgresOrders.WaitForAsync(database.DataSource, deals[0].DealId, 13);
        await PostgresOrders.WaitForAsync(database.DataSource, deals[1].DealId, 11);

        var pages = new List<ListMyOrdersResponse>();
        var request = new ListMyOrdersRequest { PageSize = 10 };
        do
        {
            var page = await Client.ListAsync("jo", request);
            pages.Add(page);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal([10, 10, 3], pages.Select(p => p.Orders.Count));
        Assert.Equal(placed.Select(o => o.OrderId).Reverse(), pages.SelectMany(p => p.Orders).Select(o => o.OrderId));

        var firstDeal = await Client.ListAsync("jo", new ListMyOrdersRequest { DealId = deals[0].DealId.ToString(), PageSize = 100 });
        Assert.Equal(12, firstDeal.Orders.Count);
        Assert.Empty(firstDeal.NextPageToken);
        var defaultSize = await Client.ListAsync("jo", new ListMyOrdersRequest());
        Assert.Equal(20, defaultSize.Orders.Count);
    }

    [Fact]
    public async Task ListMyOrdersFiltersByStatus()
    {
        var deal = await new TestDeal().WriteAsync(Connection.GetDatabase());
        var paid = (await Client.PlaceAsync("kim", deal.DealId, "a")).Order;
        var cancelled = (await Client.PlaceAsync("kim", deal.DealId, "b")).Order;
        var pending = (await Client.PlaceAsync("kim", deal.DealId, "c")).Order;
        await Client.PayAsync("kim", paid.OrderId, "tok_visa");
        await Client.CancelAsync("kim", cancelled.OrderId);
        await PostgresOrders.WaitForStatusAsync(database.DataSource, deal.DealId,
            rows => rows.Count == 3 && rows.Count(r => r.Status == "PENDING_PAYMENT") == 1, "statuses reach PostgreSQL");

        var request = new ListMyOrdersRequest();
        request.Statuses.Add(OrderStatus.Paid);
        request.Statuses.Add(OrderStatus.PendingPayment);
        var listed = await Client.ListAsync("kim", request);

        Assert.Equal([pending.OrderId, paid.OrderId], listed.Orders.Select(o => o.OrderId));
        Assert.Equal(OrderStatus.Paid, listed.Orders[1].Status);

        using var rest = new HttpRequestMessage(HttpMethod.Get, "/v1/orders?statuses=ORDER_STATUS_CANCELLED&pageSize=5");
        rest.Headers.Add("authorization", TestTokens.Shared.Bearer("kim"));
        using var response = await _host.Http.SendAsync(rest);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var orders = json.RootElement.GetProperty("orders");
        Assert.Equal(1, orders.GetArrayLength());
        Assert.Equal(cancelled.OrderId, orders[0].GetProperty("orderId").GetString());
    }

    [Fact]
    public async Task ListMyOrdersRefusesBadInput()
    {
        var deal = await new TestDeal().WriteAsync(Connection.GetDatabase());
        await Client.PlaceAsync("lu", deal.DealId, "a");
        await Client.PlaceAsync("lu", deal.DealId, "b");
        await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 2);
        var page = await Client.ListAsync("lu", new ListMyOrdersRequest { PageSize = 1 });
        Assert.NotEmpty(page.NextPageToken);

        await Assertions.InvalidAsync(Client.ListAsync("lu", new ListMyOrdersRequest { PageToken = "garbage" }), "page_token");
        await Assertions.InvalidAsync(Client.ListAsync("lu",
            new ListMyOrdersRequest { PageToken = page.NextPageToken, DealId = deal.DealId.ToString() }), "page_token");
        await Assertions.InvalidAsync(Client.ListAsync("someone-else",
            new ListMyOrdersRequest { PageToken = page.NextPageToken, PageSize = 1 }), "page_token");
        await Assertions.InvalidAsync(Client.ListAsync("lu", new ListMyOrdersRequest { PageSize = -1, DealId = "x" }),
            "page_size", "deal_id");
        var unspecified = new ListMyOrdersRequest();
        unspecified.Statuses.Add(OrderStatus.Unspecified);
        await Assertions.InvalidAsync(Client.ListAsync("lu", unspecified), "statuses");
        var next = await Client.ListAsync("lu", new ListMyOrdersRequest { PageSize = 1, PageToken = page.NextPageToken });
        Assert.Single(next.Orders);
    }
}
