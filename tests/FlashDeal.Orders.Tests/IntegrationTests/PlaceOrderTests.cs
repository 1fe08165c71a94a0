using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>PlaceOrder over gRPC and REST against one real host: every outcome of place_order.lua.</summary>
[Collection(DataServers.Name)]
public sealed class PlaceOrderTests(PostgresDatabase database, RedisServer redis) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private OrdersHost _host = null!;
    private ConnectionMultiplexer _redis = null!;

    private IDatabase Redis => _redis.GetDatabase();

    private OrderClient Client => _host.Client;

    public async Task InitializeAsync()
    {
        await redis.FlushAllAsync();
        // A long flag TTL: only the stock-returned message can drop a sold-out flag in these tests.
        _host = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString,
            new Dictionary<string, string?> { ["Orders:SoldOutFlagTtl"] = "00:01:00" });
        _redis = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _redis.Dispose();
    }

    private Task<TestDeal> DealAsync(TestDeal? deal = null) => (deal ?? new TestDeal()).WriteAsync(Redis);

    [Fact]
    public async Task PlaceOrderAcceptsAndReservesTheUnits()
    {
        var deal = await DealAsync(new TestDeal { Stock = 10 });

        var response = await Client.PlaceAsync("ada", deal.DealId, "key-1", quantity: 3);

        var order = response.Order;
        Assert.False(response.Replayed);
        Assert.Equal(7, UuidVersion(order.OrderId));
        Assert.Equal(("ada", deal.DealId.ToString("D"), deal.ProductId, deal.ProductName, deal.Title),
            (order.UserId, order.DealId, order.ProductId, order.ProductName, order.DealTitle));
        Assert.Equal((3, 1999L, 3 * 1999L, "USD", "key-1"),
            (order.Quantity, order.UnitPriceCents, order.TotalCents, order.Currency, order.IdempotencyKey));
        Assert.Equal(OrderStatus.PendingPayment, order.Status);
        Assert.Equal(TimeSpan.FromMinutes(10), order.PayDeadline.ToDateTimeOffset() - order.CreateTime.ToDateTimeOffset());
        Assert.Equal(7, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(3, (int)await Redis.HashGetAsync(OrderKeys.Buyers(deal.DealId), "ada"));
        Assert.True(await Redis.SetContainsAsync(OrderKeys.StreamRegistry, deal.DealId.ToString("D")));
    }

    [Fact]
    public async Task PlaceOrderOverRestUsesTheSameHandler()
    {
        var deal = await DealAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/orders")
        {
            Content = JsonContent.Create(new { dealId = deal.DealId.ToString("D"), idempotencyKey = "rest-1", quantity = 2 }),
        };
        request.Headers.Authorization = AuthenticationHeaderValue("rest-user");

        using var response = await _host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var order = json.RootElement.GetProperty("order");
        Assert.Equal("ORDER_STATUS_PENDING_PAYMENT", order.GetProperty("status").GetString());
        Assert.Equal(2, order.GetProperty("quantity").GetInt32());
        Assert.Equal("3998", order.GetProperty("totalCents").GetString());
        Assert.False(json.RootElement.GetProperty("replayed").GetBoolean());
    }

    [Fact]
    public async Task TheSameIdempotencyKeyReplaysTheOriginalOrderWithoutTakingStock()
    {
        var deal = await DealAsync(new TestDeal { Stock = 10 });
        var first = await Client.PlaceAsync("bob", deal.DealId, "retry-me", quantity: 2);

        var second = await Client.PlaceAsync("bob", deal.DealId, "retry-me", quantity: 2);
        var defaultQuantity = await Client.PlaceAsync("bob", deal.DealId, "other-key");

        Assert.True(second.Replayed);
        Assert.Equal(first.Order, second.Order);
        Assert.Equal(1, defaultQuantity.Order.Quantity);
        Assert.Equal(10 - 2 - 1, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task AKeyReusedWithAnotherQuantityIsAMismatchNamingTheOriginalOrder()
    {
        var deal = await DealAsync();
        var first = await Client.PlaceAsync("cy", deal.DealId, "k", quantity: 1);

        var info = await Assertions.RefusedAsync(Client.PlaceAsync("cy", deal.DealId, "k", quantity: 2),
            StatusCode.InvalidArgument, "IDEMPOTENCY_KEY_MISMATCH");

        Assert.Equal(first.Order.OrderId, info.Metadata["order_id"]);
    }

    [Fact]
    public async Task OtherUsersMayUseTheSameKey()
    {
        var deal = await DealAsync();
        var a = await Client.PlaceAsync("u1", deal.DealId, "same");
        var b = await Client.PlaceAsync("u2", deal.DealId, "same");
        Assert.NotEqual(a.Order.OrderId, b.Order.OrderId);
        Assert.False(b.Replayed);
    }

    [Fact]
    public async Task AnUnknownDealIsDealNotFound()
    {
        var dealId = Guid.NewGuid();
        var info = await Assertions.RefusedAsync(Client.PlaceAsync("u", dealId, "k"), StatusCode.NotFound, "DEAL_NOT_FOUND");
        Assert.Equal(dealId.ToString("D"), info.Metadata["deal_id"]);
        Assert.False(await Redis.SetContainsAsync(OrderKeys.StreamRegistry, dealId.ToString("D")));
    }

    [Fact]
    public async Task BeforeTheWindowIsDealNotStartedAndAfterItDealEnded()
    {
        var upcoming = await DealAsync(new TestDeal { Start = DateTimeOffset.UtcNow.AddHours(1), End = DateTimeOffset.UtcNow.AddHours(2) });
        var ended = await DealAsync(new TestDeal { Start = DateTimeOffset.UtcNow.AddHours(-2), End = DateTimeOffset.UtcNow.AddSeconds(-1) });

        var notStarted = await Assertions.RefusedAsync(Client.PlaceAsync("u", upcoming.DealId, "k"),
            StatusCode.FailedPrecondition, "DEAL_NOT_STARTED");
        var over = await Assertions.RefusedAsync(Client.PlaceAsync("u", ended.DealId, "k"),
            StatusCode.FailedPrecondition, "DEAL_ENDED");

        Assert.Equal(upcoming.Start.ToUnixTimeMilliseconds(),
            DateTimeOffset.Parse(notStarted.Metadata["start_time"], System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());
        Assert.Equal(ended.End.ToUnixTimeMilliseconds(),
            DateTimeOffset.Parse(over.Metadata["end_time"], System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds());
        Assert.Equal(100, await TestDeal.RemainingAsync(Redis, upcoming.DealId));
        Assert.Equal(100, await TestDeal.RemainingAsync(Redis, ended.DealId));
    }

    [Fact]
    public async Task ACancelledDealIsDealCancelled()
    {
        var deal = await DealAsync(new TestDeal { Cancelled = true });
        await Assertions.RefusedAsync(Client.PlaceAsync("u", deal.DealId, "k"), StatusCode.FailedPrecondition, "DEAL_CANCELLED");
    }

    [Fact]
    public async Task FewerUnitsThanAskedIsInsufficientStockAndNoneIsSoldOut()
    {
        var deal = await DealAsync(new TestDeal { Stock = 3, PerUserLimit = 10 });
        await Client.PlaceAsync("a", deal.DealId, "k1", quantity: 2);

        var insufficient = await Assertions.RefusedAsync(Client.PlaceAsync("b", deal.DealId, "k2", quantity: 2),
            StatusCode.FailedPrecondition, "INSUFFICIENT_STOCK");
        await Client.PlaceAsync("b", deal.DealId, "k3", quantity: 1);
        await Assertions.RefusedAsync(Client.PlaceAsync("c", deal.DealId, "k4"), StatusCode.FailedPrecondition, "SOLD_OUT");

        Assert.Equal("1", insufficient.Metadata["remaining_stock"]);
        Assert.Equal(0, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task ThePerUserLimitCountsEveryHeldUnit()
    {
        var deal = await DealAsync(new TestDeal { PerUserLimit = 3 });
        await Client.PlaceAsync("dee", deal.DealId, "k1", quantity: 2);

        var info = await Assertions.RefusedAsync(Client.PlaceAsync("dee", deal.DealId, "k2", quantity: 2),
            StatusCode.FailedPrecondition, "PER_USER_LIMIT_REACHED");
        await Client.PlaceAsync("dee", deal.DealId, "k3", quantity: 1);

        Assert.Equal(("3", "2"), (info.Metadata["per_user_limit"], info.Metadata["already_ordered"]));
        Assert.Equal(97, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task BadInputIsInvalidArgumentNamingEachField()
    {
        await Assertions.InvalidAsync(Client.PlaceAsync(new PlaceOrderRequest(), "u"),
            "deal_id", "idempotency_key");
        await Assertions.InvalidAsync(Client.PlaceAsync(
            new PlaceOrderRequest { DealId = "not-a-uuid", IdempotencyKey = "has space", Quantity = 0 }, "u"),
            "deal_id", "idempotency_key", "quantity");
        await Assertions.InvalidAsync(Client.PlaceAsync("u", Guid.NewGuid(), new string('k', 65), quantity: 101),
            "idempotency_key", "quantity");
        await Assertions.InvalidAsync(Client.PlaceAsync("u", Guid.NewGuid(), "k", quantity: -1), "quantity");
    }

    [Fact]
    public async Task BadInputOverRestIs400WithFieldViolations()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/orders")
        {
            Content = JsonContent.Create(new { dealId = "nope", idempotencyKey = "k", quantity = 0 }),
        };
        request.Headers.Authorization = AuthenticationHeaderValue("u");

        using var response = await _host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"deal_id\"", body);
        Assert.Contains("\"quantity\"", body);
    }

    [Fact]
    public async Task RefusalsOverRestKeepTheirReasonAndStatus()
    {
        var deal = await DealAsync(new TestDeal { Stock = 1 });
        await Client.PlaceAsync("x", deal.DealId, "k");

        var soldOut = await PostOrderAsync(deal.DealId, "y");
        var notFound = await PostOrderAsync(Guid.NewGuid(), "y");

        Assert.Equal(HttpStatusCode.BadRequest, soldOut.Status);
        Assert.Contains("\"SOLD_OUT\"", soldOut.Body);
        Assert.Equal(HttpStatusCode.NotFound, notFound.Status);
        Assert.Contains("\"DEAL_NOT_FOUND\"", notFound.Body);
    }

    [Fact]
    public async Task WithoutATokenPlaceOrderIsUnauthenticated()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            Client.PlaceAsync(new PlaceOrderRequest { DealId = Guid.NewGuid().ToString(), IdempotencyKey = "k" }, null));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);

        using var response = await _host.Http.PostAsJsonAsync("/v1/orders", new { dealId = Guid.NewGuid(), idempotencyKey = "k" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AfterSellOutTheFloodIsAnsweredWithoutRedis()
    {
        var deal = await DealAsync(new TestDeal { Stock = 1 });
        var bought = await Client.PlaceAsync("buyer", deal.DealId, "k");
        await Assertions.RefusedAsync(Client.PlaceAsync("late-1", deal.DealId, "k"), StatusCode.FailedPrecondition, "SOLD_OUT");
        await Eventually.HoldsAsync(async () =>
        {
            // The flag works once it loaded the buyers; until then calls still go to Redis and answer the same.
            await Assertions.RefusedAsync(Client.PlaceAsync("probe", deal.DealId, "k"), StatusCode.FailedPrecondition, "SOLD_OUT");
            return _host.Services.GetService(typeof(Placement.SoldOutFlags)) is Placement.SoldOutFlags { Count: 1 };
        }, "the sold-out flag is set");

        var pause = TimeSpan.FromSeconds(5);
        var started = DateTime.UtcNow;
        await redis.PauseAsync(pause);
        for (var i = 0; i < 20; i++)
        {
            await Assertions.RefusedAsync(Client.PlaceAsync($"late-{i}", deal.DealId, "k", timeout: TimeSpan.FromSeconds(1)),
                StatusCode.FailedPrecondition, "SOLD_OUT");
        }
        // A call that reached the paused Redis would have missed its 1 s deadline; all of them were answered while Redis
        // was still paused, so from the flag.
        Assert.True(DateTime.UtcNow - started < pause, "answers came from the flag, not a paused Redis");

        // A buyer's retry still reaches Redis and, once it answers again, gets the original order back.
        var replay = await RetryUntilRedisAnswersAsync(() => Client.PlaceAsync("buyer", deal.DealId, "k", timeout: TimeSpan.FromSeconds(3)));
        Assert.True(replay.Replayed);
        Assert.Equal(bought.Order.OrderId, replay.Order.OrderId);
    }

    [Fact]
    public async Task ReturnedStockDropsTheSoldOutFlagOnEveryReplica()
    {
        await using var other = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString,
            new Dictionary<string, string?> { ["Orders:SoldOutFlagTtl"] = "00:01:00" });
        var deal = await DealAsync(new TestDeal { Stock = 1 });
        var bought = await Client.PlaceAsync("buyer", deal.DealId, "k");
        foreach (var client in new[] { Client, other.Client })
        {
            await Assertions.RefusedAsync(client.PlaceAsync("late", deal.DealId, "k1"), StatusCode.FailedPrecondition, "SOLD_OUT");
        }
        await Eventually.HoldsAsync(() => Task.FromResult(new[] { _host, other }
            .All(h => h.Services.GetRequiredService<Placement.SoldOutFlags>().Count == 1)), "both replicas hold the sold-out flag");

        await Client.CancelAsync("buyer", bought.Order.OrderId);

        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await other.Client.PlaceAsync("late", deal.DealId, "k2");
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                return false;
            }
        }, "the other replica accepts again");
        Assert.Equal(0, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task ScriptsAreLoadedAtStartAndSentAgainAfterAScriptFlush()
    {
        var sha = Placement.DealReservationScript.Script.Sha1;
        await redis.ExecuteAsync("SCRIPT", "FLUSH");
        await using (await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString))
        {
            Assert.Equal("1", await redis.ExecuteAsync("SCRIPT", "EXISTS", sha));
        }
        var deal = await DealAsync();
        await Client.PlaceAsync("a", deal.DealId, "k");

        await redis.ExecuteAsync("SCRIPT", "FLUSH");
        var after = await Client.PlaceAsync("b", deal.DealId, "k");

        Assert.False(after.Replayed);
        Assert.Equal("1", await redis.ExecuteAsync("SCRIPT", "EXISTS", sha));
        Assert.Equal(98, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task ASlowRedisGivesUnavailableAndTheRetryWithTheSameKeyGetsTheOneOrder()
    {
        await using var host = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString,
            new Dictionary<string, string?> { ["Orders:RedisTimeout"] = "00:00:00.300" });
        var deal = await DealAsync(new TestDeal { Stock = 5 });
        await host.Client.PlaceAsync("warm", deal.DealId, "k"); // registers the deal

        await redis.PauseAsync(TimeSpan.FromSeconds(3));
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.PlaceAsync("zoe", deal.DealId, "attempt-1"));
        var retry = await RetryUntilRedisAnswersAsync(() => host.Client.PlaceAsync("zoe", deal.DealId, "attempt-1"));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains("same idempotency_key", e.Status.Detail);
        // The script ran once Redis woke up: the retry finds that order instead of taking another unit.
        Assert.True(retry.Replayed);
        Assert.Equal(3, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    /// <summary>Resends (bounded) while the answer is "the outcome is unknown", as a client with an idempotency key does.</summary>
    private static async Task<PlaceOrderResponse> RetryUntilRedisAnswersAsync(Func<Task<PlaceOrderResponse>> place)
    {
        PlaceOrderResponse? response = null;
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                response = await place();
                return true;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                return false;
            }
        }, "Redis answers again");
        return response!;
    }

    private async Task<(HttpStatusCode Status, string Body)> PostOrderAsync(Guid dealId, string user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/orders")
        {
            Content = JsonContent.Create(new { dealId = dealId.ToString("D"), idempotencyKey = "k" }),
        };
        request.Headers.Authorization = AuthenticationHeaderValue(user);
        using var response = await _host.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static System.Net.Http.Headers.AuthenticationHeaderValue AuthenticationHeaderValue(string user) =>
        System.Net.Http.Headers.AuthenticationHeaderValue.Parse(TestTokens.Shared.Bearer(user));

    private static int UuidVersion(string id) => Guid.Parse(id).Version;
}
