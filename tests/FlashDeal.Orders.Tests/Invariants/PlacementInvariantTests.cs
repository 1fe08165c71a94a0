using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// Invariants 1, 2, 3 and 6 of ARCHITECTURE.md under real concurrency: three replicas, one PostgreSQL, one Redis, many
/// clients at once; for both placement strategies. Outcomes are counted from what clients saw and from what the stores
/// hold afterwards, never from the service's own counters.
/// </summary>
[Collection(DataServers.Name)]
public sealed class PlacementInvariantTests(PostgresDatabase database, RedisServer redis)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    public static TheoryData<PlacementStrategy> Strategies => [PlacementStrategy.RedisLua, PlacementStrategy.PostgresRowLock];

    private Task<OrderCluster> ClusterAsync(PlacementStrategy strategy) =>
        OrderCluster.StartAsync(3, database.ConnectionString, Server.ConnectionString,
            new() { ["Orders:Strategy"] = strategy.ToString() });

    /// <summary>The baseline gets fewer buyers: it serializes every call on one row lock (~11 s for 5,000 here).</summary>
    public static TheoryData<PlacementStrategy, int> Floods => new()
    {
        { PlacementStrategy.RedisLua, 5000 },
        { PlacementStrategy.PostgresRowLock, 2000 },
    };

    [Theory]
    [MemberData(nameof(Floods))]
    public async Task AnOversubscribedDealAcceptsExactlyItsStock(PlacementStrategy strategy, int buyers)
    {
        const int stock = 100;
        await using var cluster = await ClusterAsync(strategy);
        var deal = await new TestDeal { Stock = stock, PerUserLimit = 1 }.WriteAsync(Connection.GetDatabase());

        var outcomes = await cluster.PlaceAllAsync(
            Enumerable.Range(0, buyers).Select(i => ($"buyer-{strategy}-{i}", deal.DealId, "k", 1)).ToList());

        var accepted = outcomes.Where(o => o.Accepted).ToList();
        Assert.Equal(stock, accepted.Count);
        Assert.Equal(stock, accepted.Select(o => o.Order!.OrderId).Distinct().Count());
        Assert.All(outcomes.Where(o => !o.Accepted), o => Assert.Equal((StatusCode.FailedPrecondition, "SOLD_OUT"), (o.Code, o.Reason)));
        Assert.Equal(0, await RemainingAsync(strategy, deal.DealId));

        var rows = await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, stock);
        Assert.Equal(stock, rows.Sum(r => r.Quantity));
        Assert.Equal(accepted.Select(o => Guid.Parse(o.Order!.OrderId)).Order(), rows.Select(r => r.OrderId).Order());
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public async Task OneUsersParallelBurstStopsAtThePerUserLimit(PlacementStrategy strategy)
    {
        await using var cluster = await ClusterAsync(strategy);
        var deal = await new TestDeal { Stock = 100, PerUserLimit = 2 }.WriteAsync(Connection.GetDatabase());

        var outcomes = await cluster.PlaceAllAsync(
            Enumerable.Range(0, 50).Select(i => ("greedy", deal.DealId, $"attempt-{i}", 1)).ToList(), concurrency: 50);

        Assert.Equal(2, outcomes.Count(o => o.Accepted));
        Assert.All(outcomes.Where(o => !o.Accepted), o => Assert.Equal("PER_USER_LIMIT_REACHED", o.Reason));
        Assert.Equal(98, await RemainingAsync(strategy, deal.DealId));
        var rows = await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 2);
        Assert.All(rows, r => Assert.Equal("greedy", r.UserId));
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public async Task OneIdempotencyKeySentTwentyTimesMakesOneOrder(PlacementStrategy strategy)
    {
        await using var cluster = await ClusterAsync(strategy);
        var deal = await new TestDeal { Stock = 100, PerUserLimit = 5 }.WriteAsync(Connection.GetDatabase());

        var outcomes = await cluster.PlaceAllAsync(
            Enumerable.Range(0, 20).Select(_ => ("retrier", deal.DealId, "same-key", 2)).ToList(), concurrency: 20);

        Assert.All(outcomes, o => Assert.True(o.Accepted, $"{o.Code} {o.Reason}"));
        Assert.Single(outcomes.Select(o => o.Order!.OrderId).Distinct());
        Assert.Single(outcomes, o => !o.Replayed);
        Assert.Equal(98, await RemainingAsync(strategy, deal.DealId));
        var rows = await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 1);
        Assert.Equal(outcomes[0].Order!.OrderId, rows[0].OrderId.ToString());
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public async Task OrdersBeforeOrAfterTheWindowAreRefusedAndTakeNoStock(PlacementStrategy strategy)
    {
        await using var cluster = await ClusterAsync(strategy);
        var now = DateTimeOffset.UtcNow;
        var upcoming = await new TestDeal { Stock = 50, Start = now.AddHours(1), End = now.AddHours(2) }.WriteAsync(Connection.GetDatabase());
        var ended = await new TestDeal { Stock = 50, Start = now.AddHours(-2), End = now.AddSeconds(-1) }.WriteAsync(Connection.GetDatabase());

        var outcomes = await cluster.PlaceAllAsync(Enumerable.Range(0, 300)
            .Select(i => ($"early-{i}", i % 2 == 0 ? upcoming.DealId : ended.DealId, "k", 1)).ToList());

        Assert.DoesNotContain(outcomes, o => o.Accepted);
        Assert.Equal(150, outcomes.Count(o => o.Reason == "DEAL_NOT_STARTED"));
        Assert.Equal(150, outcomes.Count(o => o.Reason == "DEAL_ENDED"));
        Assert.Equal(50, await RemainingAsync(strategy, upcoming.DealId));
        Assert.Equal(50, await RemainingAsync(strategy, ended.DealId));
        Assert.Empty(await PostgresOrders.OfDealAsync(database.DataSource, upcoming.DealId));
        Assert.Empty(await PostgresOrders.OfDealAsync(database.DataSource, ended.DealId));
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public async Task NothingIsAcceptedOutsideTheWindowWhileItOpensAndCloses(PlacementStrategy strategy)
    {
        await using var cluster = await ClusterAsync(strategy);
        // Margins a busy machine keeps: rounds before the opening, in the window, and after the end.
        var start = DateTimeOffset.UtcNow.AddMilliseconds(1500);
        var deal = await new TestDeal { Stock = 100_000, PerUserLimit = 0, Start = start, End = start.AddMilliseconds(1500) }
            .WriteAsync(Connection.GetDatabase());

        var outcomes = new List<PlaceOutcome>();
        for (var round = 0; DateTimeOffset.UtcNow < deal.End.AddMilliseconds(500); round++)
        {
            outcomes.AddRange(await cluster.PlaceAllAsync(
                Enumerable.Range(0, 30).Select(i => ($"edge-{round}-{i}", deal.DealId, "k", 1)).ToList()));
        }

        var accepted = outcomes.Where(o => o.Accepted).Select(o => o.Order!).ToList();
        Assert.NotEmpty(accepted);
        Assert.Contains(outcomes, o => o.Reason == "DEAL_NOT_STARTED");
        Assert.Contains(outcomes, o => o.Reason == "DEAL_ENDED");
        // The config holds whole milliseconds, and so does create_time (both from Redis or PostgreSQL clocks).
        Assert.All(accepted, o => Assert.InRange(o.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(),
            deal.Start.ToUnixTimeMilliseconds(), deal.End.ToUnixTimeMilliseconds() - 1));
        Assert.Equal(100_000 - accepted.Count, await RemainingAsync(strategy, deal.DealId));
    }

    /// <summary>Remaining stock where the strategy keeps it (Redis counter, or the inventory row), never from the service.</summary>
    private async Task<long> RemainingAsync(PlacementStrategy strategy, Guid dealId)
    {
        if (strategy == PlacementStrategy.RedisLua)
        {
            return await TestDeal.RemainingAsync(Connection.GetDatabase(), dealId);
        }
        await using var command = database.DataSource.CreateCommand("SELECT remaining FROM orders.deal_inventory WHERE deal_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = dealId });
        return Convert.ToInt64(await command.ExecuteScalarAsync() ?? -1L, System.Globalization.CultureInfo.InvariantCulture);
    }
}
