using FlashDeal.Data.Redis;
using FlashDeal.Orders.Reconciliation;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>The <c>reconcile</c> verb: Redis counters against PostgreSQL, per deal.</summary>
[Collection(DataServers.Name)]
public sealed class ReconcileCommandTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private async Task<(int ExitCode, string Output)> ReconcileAsync(params string[] args)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["ConnectionStrings:Redis"] = Server.ConnectionString,
        }).Build();
        using var output = new StringWriter();
        var exitCode = await ReconcileCommand.RunAsync(["reconcile", .. args], configuration, output);
        return (exitCode, output.ToString());
    }

    [Fact]
    public async Task ConsistentCountersReportNoDriftAndATamperedCounterDoes()
    {
        await using var host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString);
        var deal = await new TestDeal { Stock = 20 }.WriteAsync(Connection.GetDatabase());
        var kept = await host.Client.PlaceAsync("a", deal.DealId, "k", quantity: 3);
        var cancelled = await host.Client.PlaceAsync("b", deal.DealId, "k", quantity: 2);
        await host.Client.PayAsync("a", kept.Order.OrderId, "tok_visa");
        await host.Client.CancelAsync("b", cancelled.Order.OrderId);
        await PostgresOrders.WaitForStatusAsync(database.DataSource, deal.DealId,
            rows => rows.Count == 2 && rows.All(r => r.Status != "PENDING_PAYMENT"), "both final statuses are stored");
        await Eventually.HoldsAsync(async () => await Connection.GetDatabase().StreamLengthAsync(OrderKeys.Stream(deal.DealId)) == 0,
            "the stream is drained");

        var clean = await ReconcileAsync();
        await Connection.GetDatabase().StringIncrementAsync(DealKeys.Stock(deal.DealId), -4);
        var drifted = await ReconcileAsync("--deal", deal.DealId.ToString());

        Assert.Equal(0, clean.ExitCode);
        Assert.Matches($@"{deal.DealId}\s+redis\s+20\s+17\s+3\s+3\s+3\s+1\s+0\s+ok", clean.Output);
        Assert.Equal(1, drifted.ExitCode);
        Assert.Contains("DRIFT store=4 buyers=4", drifted.Output);
    }

    [Fact]
    public async Task BadArgumentsPrintUsage()
    {
        var (exitCode, output) = await ReconcileAsync("--deal", "not-a-uuid");
        Assert.Equal(2, exitCode);
        Assert.Contains("usage", output);
    }
}
