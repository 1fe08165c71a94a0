using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Redis;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>Invariant 5: stock returns exactly once per order, however cancellation and expiry race.</summary>
[Collection(DataServers.Name)]
public sealed class StockReturnInvariantTests(PostgresDatabase database, RedisServer redis)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task CancelAndExpiryRacingReturnEachOrdersUnitsOnce()
    {
        const int initialStock = 1000;
        const int orders = 200;
        var payWindow = TimeSpan.FromSeconds(1.5);
        await using var cluster = await OrderCluster.StartAsync(3, database.ConnectionString, Server.ConnectionString, new()
        {
            ["Orders:PayWindow"] = payWindow.ToString(),
            ["Orders:ExpirySweepInterval"] = "00:00:00.020",
        });
        var deal = await new TestDeal { Stock = initialStock, PerUserLimit = 3 }.WriteAsync(Connection.GetDatabase());
        var placed = await cluster.PlaceAllAsync(Enumerable.Range(0, orders)
            .Select(i => ($"racer-{i}", deal.DealId, "k", 1 + (i % 3))).ToList());
        Assert.All(placed, o => Assert.True(o.Accepted));
        var held = placed.Sum(o => o.Order!.Quantity);
        Assert.Equal(initialStock - held, await TestDeal.RemainingAsync(Connection.GetDatabase(), deal.DealId));

        // Wait until just before the deadline, then cancel everything while every replica also expires everything.
        var deadline = placed.Min(o => o.Order!.PayDeadline.ToDateTimeOffset());
        await Task.Delay(Max(TimeSpan.Zero, deadline - DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(30)));
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancels = placed.Select(async (o, i) =>
        {
            await go.Task;
            try
            {
                await cluster.Client(i).CancelAsync(o.UserId, o.Order!.OrderId);
                return "CANCELLED";
            }
            catch (RpcException e)
            {
                return e.GetDetail<ErrorInfo>()?.Reason ?? e.StatusCode.ToString();
            }
        }).ToArray();
        var expiries = cluster.Hosts.SelectMany(host => placed.Select(async o =>
        {
            await go.Task;
            while (await host.Lifecycle.ExpireAsync(deal.DealId, Guid.Parse(o.Order!.OrderId)) == "NOT_DUE")
            {
                await Task.Delay(5);
            }
        })).ToArray();
        go.SetResult();
        var cancelOutcomes = await Task.WhenAll(cancels);
        await Task.WhenAll(expiries);

        Assert.All(cancelOutcomes, c => Assert.Contains(c, new[] { "CANCELLED", "ORDER_EXPIRED" }));
        Assert.Equal(initialStock, await TestDeal.RemainingAsync(Connection.GetDatabase(), deal.DealId));
        var buyers = await Connection.GetDatabase().HashGetAllAsync(OrderKeys.Buyers(deal.DealId));
        Assert.All(buyers, b => Assert.Equal(0, (int)b.Value));

        var rows = await PostgresOrders.WaitForStatusAsync(database.DataSource, deal.DealId,
            r => r.Count == orders && r.All(x => x.Status is "CANCELLED" or "EXPIRED"), "every final status is in PostgreSQL");
        var statusById = rows.ToDictionary(r => r.OrderId.ToString(), r => r.Status);
        for (var i = 0; i < orders; i++)
        {
            var expected = cancelOutcomes[i] == "CANCELLED" ? "CANCELLED" : "EXPIRED";
            Assert.Equal(expected, statusById[placed[i].Order!.OrderId]);
        }
        var read = await cluster.Client(0).GetAsync(placed[0].UserId, placed[0].Order!.OrderId);
        Assert.Contains(read.Status, new[] { OrderStatus.Cancelled, OrderStatus.Expired });
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
