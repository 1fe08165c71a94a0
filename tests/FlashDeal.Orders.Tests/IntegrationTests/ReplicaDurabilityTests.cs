using FlashDeal.Orders.Placement;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>
/// Orders:Durability on a real primary, replica and Sentinels: with Replica an order is answered only once the replica
/// holds it, a replica that stops acknowledging turns PlaceOrder into "outcome unknown, retry with the same key" (which
/// then replays the one order), WAITs are shared by concurrent orders; with Local the same frozen replica changes nothing.
/// </summary>
[Collection(DataServers.Name)]
public sealed class ReplicaDurabilityTests(PostgresDatabase database, RedisSentinelSet redis, RedisServer single)
    : IClassFixture<PostgresDatabase>, IClassFixture<RedisSentinelSet>, IAsyncLifetime
{
    // Long enough for a replica on a busy machine to acknowledge; the frozen replica costs the test this much once.
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(3);
    private OrdersHost _replica = null!;
    private OrdersHost _local = null!;
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        _replica = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Orders:Durability"] = "Replica",
            ["Orders:ReplicaWaitTimeout"] = WaitTimeout.ToString(),
        });
        _local = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString);
        _redis = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _replica.DisposeAsync();
        await _local.DisposeAsync();
        _redis.Dispose();
    }

    private async Task<RedisServer> ReplicaServerAsync()
    {
        var primary = await redis.PrimaryPortAsync();
        return redis.Servers.Single(s => s.Port != primary);
    }

    [Fact]
    public async Task AnAcceptedOrderIsOnTheReplicaWhenItIsAnswered()
    {
        var deal = await new TestDeal { Stock = 10 }.WriteAsync(_redis.GetDatabase());
        var replica = await ReplicaServerAsync();

        var order = (await _replica.Client.PlaceAsync("ada", deal.DealId, "k1", quantity: 1)).Order;

        // Read straight from the replica the moment the answer is in: no waiting for replication.
        Assert.Equal("1", await replica.ExecuteAsync("EXISTS",
            OrderKeys.Order(deal.DealId, Guid.Parse(order.OrderId)).ToString()));
    }

    [Fact]
    public async Task ARefundIsOnTheReplicaWhenItIsAnswered()
    {
        var deal = await new TestDeal { Stock = 10 }.WriteAsync(_redis.GetDatabase());
        var replica = await ReplicaServerAsync();
        var order = (await _replica.Client.PlaceAsync("ada", deal.DealId, "k1", quantity: 2)).Order;
        await _replica.Client.PayAsync("ada", order.OrderId, "tok_visa");

        var refunded = await _replica.Client.CancelAsync("ada", order.OrderId);

        Assert.Equal(Contracts.Orders.V1.OrderStatus.Refunded, refunded.Status);
        Assert.Equal("REFUNDED", await replica.ExecuteAsync("HGET",
            OrderKeys.Order(deal.DealId, Guid.Parse(order.OrderId)).ToString(), OrderFields.Status));
        Assert.Equal("10", await replica.ExecuteAsync("GET", Data.Redis.DealKeys.Stock(deal.DealId).ToString()));
    }

    [Fact]
    public async Task ARefundTheReplicaDidNotAcknowledgeIsUnknownAndTheRetryAnswersItOnce()
    {
        var deal = await new TestDeal { Stock = 10 }.WriteAsync(_redis.GetDatabase());
        var replica = await ReplicaServerAsync();
        var order = (await _replica.Client.PlaceAsync("bea", deal.DealId, "k1", quantity: 2)).Order;
        await _replica.Client.PayAsync("bea", order.OrderId, "tok_visa");

        await replica.SuspendAsync();
        RpcException refused;
        try
        {
            refused = await Assert.ThrowsAsync<RpcException>(() => _replica.Client.CancelAsync("bea", order.OrderId));
        }
        finally
        {
            await replica.ResumeAsync();
        }

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        var retried = await _replica.Client.CancelAsync("bea", order.OrderId);
        Assert.Equal(Contracts.Orders.V1.OrderStatus.Refunded, retried.Status);
        Assert.Equal(10, await TestDeal.RemainingAsync(_redis.GetDatabase(), deal.DealId));
        var provider = (Payments.SandboxPaymentProvider)_replica.Services.GetRequiredService<Payments.IPaymentProvider>();
        Assert.Equal(retried.RefundReference, provider.Refunds[Guid.Parse(order.OrderId)]);
    }

    [Fact]
    public async Task AFrozenReplicaMakesTheOutcomeUnknownAndTheRetryWithTheSameKeyGetsTheOneOrder()
    {
        var deal = await new TestDeal { Stock = 10 }.WriteAsync(_redis.GetDatabase());
        var replica = await ReplicaServerAsync();

        await replica.SuspendAsync();
        RpcException refused;
        string localOrder;
        try
        {
            refused = await Assert.ThrowsAsync<RpcException>(() => _replica.Client.PlaceAsync("ada", deal.DealId, "k1", quantity: 1));
            // Local durability answers from the primary alone: the frozen replica changes nothing.
            localOrder = (await _local.Client.PlaceAsync("grace", deal.DealId, "k1", quantity: 1)).Order.OrderId;
        }
        finally
        {
            await replica.ResumeAsync();
        }

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("Retry with the same idempotency_key", refused.Status.Detail, StringComparison.Ordinal);
        Assert.NotEmpty(localOrder);
        // The order was placed on the primary; the retry with its key replays it once the replica has it.
        var retried = await _replica.Client.PlaceAsync("ada", deal.DealId, "k1", quantity: 1);
        Assert.True(retried.Replayed);
        Assert.Equal(8, await TestDeal.RemainingAsync(_redis.GetDatabase(), deal.DealId));
        Assert.Equal("1", await replica.ExecuteAsync("EXISTS",
            OrderKeys.Order(deal.DealId, Guid.Parse(retried.Order.OrderId)).ToString()));
    }

    [Fact]
    public async Task AServiceWhosePrimaryHasTooFewReplicasSaysSoAtStart()
    {
        await using var jwks = await JwksEndpoint.StartAsync(TestTokens.Shared.Keys);
        await using var orders = await OrdersProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            // One server, no replica.
            ["ConnectionStrings__Redis"] = single.ConnectionString,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
            ["Auth__JwksUrl"] = jwks.Url.ToString(),
            ["Orders__Durability"] = "Replica",
        });

        await Eventually.HoldsAsync(() => Task.FromResult(orders.Output.Contains(
            $"Redis primary {single.ConnectionString} has 0 connected replica(s)", StringComparison.Ordinal)),
            "the orders service warns that PlaceOrder cannot be confirmed");
    }

    [Fact]
    public async Task ConcurrentOrdersShareWaits()
    {
        const int buyers = 200;
        var deal = await new TestDeal { Stock = buyers }.WriteAsync(_redis.GetDatabase());
        var acknowledgement = _replica.Services.GetRequiredService<ReplicaAcknowledgement>();
        var before = acknowledgement.WaitsSent;

        var orders = await Task.WhenAll(Enumerable.Range(0, buyers).Select(i =>
            _replica.Client.PlaceAsync($"buyer-{i}", deal.DealId, "k", quantity: 1)));

        var waits = acknowledgement.WaitsSent - before;
        Assert.Equal(buyers, orders.Select(o => o.Order.OrderId).Distinct().Count());
        Assert.InRange(waits, 1, buyers - 1);
        var replica = await ReplicaServerAsync();
        foreach (var order in orders)
        {
            Assert.Equal("1", await replica.ExecuteAsync("EXISTS",
                OrderKeys.Order(deal.DealId, Guid.Parse(order.Order.OrderId)).ToString()));
        }
    }
}
