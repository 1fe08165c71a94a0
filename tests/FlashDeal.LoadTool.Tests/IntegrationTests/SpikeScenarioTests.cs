using FlashDeal.Data.Redis;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Scenarios;
using FlashDeal.LoadTool.Tests.Infrastructure;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.LoadTool.Tests.IntegrationTests;

/// <summary>
/// The spike against the real services over each transport, with demand well above the stock: exactly the stock is
/// accepted, the refusals are classified (SOLD_OUT expected), and the stores agree. Then the stores are tampered with
/// and the same checks must fail.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class SpikeScenarioTests(MeshFixture mesh)
{
    private const int Stock = 12;

    [Theory]
    [InlineData("grpc")]
    [InlineData("rest")]
    public async Task SpikeAcceptsExactlyTheStockAndTheStoresAgree(string transport)
    {
        var (spike, log, invariants) = await RunSpikeAsync(transport, $"spike-{transport}");

        Assert.All(invariants, i => Assert.True(i.Passed, $"{i.Name}: {i.Detail}"));
        Assert.Equal(8, invariants.Count);
        Assert.Equal(Stock, spike.Accepted.Count);
        Assert.Equal(Stock, log.Count("place_order", Outcomes.Ok));
        var soldOut = log.Calls.Where(c => c.Operation == "place_order" && c.Outcome == Outcomes.SoldOut).ToList();
        Assert.NotEmpty(soldOut);
        Assert.All(soldOut, c => Assert.True(c.Expected));
        // Every refusal is named by its ErrorInfo reason, never by a bare status or HTTP code.
        Assert.All(log.Calls.Where(c => c.Operation == "place_order"),
            c => Assert.Contains(c.Outcome, new[] { Outcomes.Ok, Outcomes.SoldOut, Outcomes.InsufficientStock, Outcomes.PerUserLimitReached }));
        Assert.All(log.Calls.Where(c => c.Operation == "get_deal"), c => Assert.Equal(Outcomes.Ok, c.Outcome));
        Assert.NotNull(spike.FirstAcceptAfterOpen);
    }

    [Fact]
    public async Task GreedyUsersHitThePerUserLimitAndItIsExpected()
    {
        var (_, log, invariants) = await RunSpikeAsync("grpc", "spike-greedy", "--stock", "40", "--users", "10",
            "--per-user-limit", "2", "--repeat-fraction", "1", "--poll-fraction", "0");

        Assert.All(invariants, i => Assert.True(i.Passed, $"{i.Name}: {i.Detail}"));
        var limited = log.Calls.Where(c => c.Outcome == Outcomes.PerUserLimitReached).ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, c => Assert.True(c.Expected));
    }

    [Fact]
    public async Task ChecksFailWhenAnOrderRowIsDeleted()
    {
        var (spike, _, before) = await RunSpikeAsync("grpc", "spike-tamper-row");
        Assert.All(before, i => Assert.True(i.Passed, $"{i.Name}: {i.Detail}"));

        await using (var database = NpgsqlDataSource.Create(mesh.Postgres))
        {
            await using var delete = database.CreateCommand("DELETE FROM orders.orders WHERE order_id = $1");
            delete.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(spike.Accepted.Keys.First()) });
            Assert.Equal(1, await delete.ExecuteNonQueryAsync());
        }
        var after = await spike.CheckAsync(CancellationToken.None);

        Assert.False(Find(after, "every accepted order is in postgres").Passed);
        Assert.False(Find(after, "postgres orders = accepted").Passed);
        Assert.False(Find(after, "postgres units = redis stock taken").Passed);
        Assert.True(Find(after, "redis stock taken = accepted").Passed);
    }

    [Fact]
    public async Task ChecksFailWhenStockIsAddedInRedis()
    {
        var (spike, _, _) = await RunSpikeAsync("grpc", "spike-tamper-stock");

        using (var redis = await ConnectionMultiplexer.ConnectAsync(mesh.Redis))
        {
            await redis.GetDatabase().StringIncrementAsync(DealKeys.Stock(spike.Deal!.DealId), 3);
        }
        var after = await spike.CheckAsync(CancellationToken.None);

        Assert.False(Find(after, "redis stock taken = accepted").Passed);
        Assert.False(Find(after, "postgres units = redis stock taken").Passed);
        Assert.True(Find(after, "every accepted order is in postgres").Passed);
    }

    [Fact]
    public async Task ChecksFailWhenAUserHoldsMoreThanTheLimit()
    {
        var (spike, _, _) = await RunSpikeAsync("grpc", "spike-tamper-limit");

        // Move every order of the deal onto one user: the GROUP BY must see that user over the limit of 1.
        await using (var database = NpgsqlDataSource.Create(mesh.Postgres))
        {
            await using var update = database.CreateCommand(
                "UPDATE orders.orders SET user_id = 'one-greedy-user' WHERE deal_id = $1");
            update.Parameters.Add(new NpgsqlParameter { Value = spike.Deal!.DealId });
            await update.ExecuteNonQueryAsync();
        }
        var after = await spike.CheckAsync(CancellationToken.None);

        Assert.False(Find(after, "no user over the per-user limit").Passed);
        Assert.False(Find(after, "one order per idempotency key").Passed);
    }

    private async Task<(SpikeScenario Spike, CallLog Log, IReadOnlyList<InvariantResult> Invariants)> RunSpikeAsync(
        string transport, string prefix, params string[] extra)
    {
        var options = ScenarioDriver.Options(mesh, "spike", transport,
        [
            "--users", "30", "--stock", Stock.ToString(System.Globalization.CultureInfo.InvariantCulture), "--per-user-limit", "1",
            "--opens-in", "1s", "--user-prefix", prefix, "--check-timeout", "10s", .. extra,
        ]);
        var (scenario, _, client) = ScenarioDriver.Create(options);
        using (client)
        {
            var spike = (SpikeScenario)scenario;
            await spike.SetUpAsync(CancellationToken.None);
            // Demand: every user visits twice, far more than the stock.
            var log = await ScenarioDriver.IterateAsync(spike, 60, 16);
            var invariants = await spike.CheckAsync(CancellationToken.None);
            return (spike, log, invariants);
        }
    }

    private static InvariantResult Find(IReadOnlyList<InvariantResult> results, string name) =>
        results.Single(r => r.Name == name);
}
