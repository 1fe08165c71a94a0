using FlashDeal.TestInfrastructure;
using Grpc.Core;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>Invariant 4 (no accepted order is lost) while PostgreSQL is down in the middle of a spike.</summary>
[Collection(DataServers.Name)]
public sealed class OutageInvariantTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task OrdersAcceptedWhilePostgresIsDownAllReachItOnceAfterwards()
    {
        await using var cluster = await OrderCluster.StartAsync(3, database.ConnectionString, Server.ConnectionString);
        var deal = await new TestDeal { Stock = 1000, PerUserLimit = 1 }.WriteAsync(Connection.GetDatabase());
        List<(string, Guid, string, int)> Buyers(string phase) =>
            Enumerable.Range(0, 400).Select(i => ($"{phase}-{i}", deal.DealId, "k", 1)).ToList();

        var outcomes = await cluster.PlaceAllAsync(Buyers("before"));
        await database.Server.StopAsync();
        var stoppedAt = DateTime.UtcNow;
        try
        {
            outcomes.AddRange(await cluster.PlaceAllAsync(Buyers("during")));
            var acceptedDuring = outcomes.Last(o => o.Accepted);
            // Reads do not depend on PostgreSQL either: the order comes from its Redis hash.
            Assert.Equal(acceptedDuring.Order, await cluster.Client(1).GetAsync(acceptedDuring.UserId, acceptedDuring.Order!.OrderId));
            await Task.Delay(Max(TimeSpan.Zero, Outage - (DateTime.UtcNow - stoppedAt)));
        }
        finally
        {
            await database.Server.StartAsync();
        }
        outcomes.AddRange(await cluster.PlaceAllAsync(Buyers("after")));

        var accepted = outcomes.Where(o => o.Accepted).ToList();
        Assert.Equal(1000, accepted.Count);
        Assert.All(outcomes.Where(o => !o.Accepted), o => Assert.Equal((StatusCode.FailedPrecondition, "SOLD_OUT"), (o.Code, o.Reason)));
        Assert.Equal(400, accepted.Count(o => o.UserId.StartsWith("during-", StringComparison.Ordinal)));
        var rows = await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 1000, TimeSpan.FromSeconds(60));
        Assert.Equal(accepted.Select(o => Guid.Parse(o.Order!.OrderId)).Order(), rows.Select(r => r.OrderId).Order());
        Assert.Equal(0, await TestDeal.RemainingAsync(Connection.GetDatabase(), deal.DealId));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
