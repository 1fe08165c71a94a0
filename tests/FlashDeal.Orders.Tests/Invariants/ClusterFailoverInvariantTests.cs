using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Reconciliation;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// Redis Cluster, one primary lost in the middle of a spike. Three deals whose hash tags land on the three primaries are
/// sold at once by three orders replicas under Replica durability; when half of deal A is sold, A's primary (which also
/// holds the stream registry, the one key outside the deals' slots) is killed with SIGKILL. Deal A keeps invariants 1, 2,
/// 3 and 4 through the failover (clients resend their key while the outcome is unknown, as the API tells them) and
/// answers nothing "accepted" while its slots have no replica; deals B and C, sold on throughout, see no error at all;
/// afterwards the orders service's reconcile over every deal reports no drift.
/// </summary>
[Collection(DataServers.Name)]
public sealed class ClusterFailoverInvariantTests(PostgresDatabase database, RedisClusterSet cluster, ITestOutputHelper output)
    : IClassFixture<PostgresDatabase>, IClassFixture<RedisClusterSet>
{
    private const int Stock = 300;
    private const int BuyersPerDeal = 600;

    // Generous bounds: each is only reached when something is broken, never by a slow machine.
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ResendBudget = TimeSpan.FromSeconds(90);
    // Long enough for a replica on a busy machine to acknowledge.
    private static readonly TimeSpan ReplicaWaitTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task APrimaryKilledMidSpikeKeepsItsDealsInvariantsAndTheOtherPrimariesDealsSeeNoError()
    {
        // Deal A on the primary that holds the registry key; B and C on the other two.
        var registryPrimary = await cluster.PrimaryPortForKeyAsync(OrderKeys.StreamRegistry);
        var primaries = (await cluster.PrimaryPortsAsync()).OrderBy(port => port != registryPrimary).ToArray();
        Assert.Equal(3, primaries.Length);
        var deals = new Guid[3];
        for (var i = 0; i < 3; i++)
        {
            deals[i] = await DealOnAsync(primaries[i]);
        }
        await using var orders = await OrderCluster.StartAsync(3, database.ConnectionString, cluster.ConnectionString, new()
        {
            ["Orders:Durability"] = "Replica",
            ["Orders:ReplicaWaitTimeout"] = ReplicaWaitTimeout.ToString(),
            // Entries whose XREADGROUP answer died with A's primary stay pending with their consumer until claimed.
            ["Orders:Stream:ClaimMinIdle"] = "00:00:05",
            ["Orders:Stream:ClaimInterval"] = "00:00:00.200",
        });
        using (var redis = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString))
        {
            foreach (var dealId in deals)
            {
                await new TestDeal { DealId = dealId, Stock = Stock, PerUserLimit = 1 }.WriteAsync(redis.GetDatabase());
            }
        }
        var clock = Stopwatch.StartNew();
        var (a, b, c) = (new DealSpike(orders, deals[0], clock), new DealSpike(orders, deals[1], clock),
            new DealSpike(orders, deals[2], clock));

        // A's buyers all come at once. B's and C's come in three waves, so that both are still selling while A's slots
        // have no primary (the second wave, sent at the kill) and after the failover (the third, sent once it is done).
        a.Start(0, BuyersPerDeal);
        b.Start(0, 100);
        c.Start(0, 100);
        await a.AcceptedAtLeastAsync(Stock / 2);
        // A replica registers a deal with its first order (SADD to the registry on A's primary): one that had not yet
        // would fail its first order of B or C while that node is down. Here each has placed dozens of each by now.
        await Eventually.HoldsAsync(() => Task.FromResult(orders.Hosts.All(host =>
                deals.All(host.Services.GetRequiredService<StreamRegistry>().IsRegistered))),
            "every orders replica has registered every deal");

        await cluster.KillAsync(primaries[0]);
        var killedAt = clock.Elapsed;
        b.Start(100, 100);
        c.Start(100, 100);
        var newPrimary = await cluster.WaitForFailoverAsync(primaries[0], FailoverTimeout);
        var failedOverAt = clock.Elapsed;
        Assert.DoesNotContain(newPrimary, primaries);
        b.Start(200, BuyersPerDeal - 200);
        c.Start(200, BuyersPerDeal - 200);

        // A's slots have a primary but no replica now, so Replica durability can confirm none of A's orders. The old
        // node comes back (as the new primary's replica) only once A's buyers have reached the new primary (its scripts
        // ran there: a replica runs none) and 32 calls started after that have ended.
        await Eventually.HoldsAsync(async () => await ScriptCallsAsync(newPrimary) > 0,
            "A's placement script runs on the new primary", FailoverTimeout);
        var reachedAt = clock.Elapsed;
        await Eventually.HoldsAsync(() => Task.FromResult(a.Attempts.Count(x => x.Start >= reachedAt) >= 32),
            "32 more calls of A's buyers have ended", FailoverTimeout);
        var restartedAt = clock.Elapsed;
        await cluster.RestartAsync(primaries[0], FailoverTimeout);
        var rejoinedAt = clock.Elapsed;
        var (outcomesA, outcomesB, outcomesC) = (await a.OutcomesAsync(), await b.OutcomesAsync(), await c.OutcomesAsync());
        var sold = clock.Elapsed;

        output.WriteLine($"deal A {deals[0]} on {primaries[0]} (and the registry), B {deals[1]} on {primaries[1]}, " +
            $"C {deals[2]} on {primaries[2]}");
        output.WriteLine($"killed {primaries[0]} at {killedAt.TotalSeconds:0.00} s; its replica {newPrimary} served its slots " +
            $"{(failedOverAt - killedAt).TotalSeconds:0.00} s later (cluster-node-timeout {RedisClusterSet.NodeTimeout.TotalSeconds} s); " +
            $"old node restarted at +{(restartedAt - killedAt).TotalSeconds:0.00} s, in sync as a replica at " +
            $"+{(rejoinedAt - killedAt).TotalSeconds:0.00} s; A's first order after the failover accepted at " +
            (a.FirstAcceptedStartedAfter(failedOverAt) is { } first ? $"+{(first - killedAt).TotalSeconds:0.00} s" : "never") +
            $"; all sold at {sold.TotalSeconds:0.00} s");
        foreach (var (name, spike) in new[] { ("A", a), ("B", b), ("C", c) })
        {
            output.WriteLine($"deal {name}: {spike.Attempts.Count} calls, {spike.Resent} resent (" +
                string.Join(", ", spike.Attempts.Where(x => !x.Final).GroupBy(x => x.Code).Select(g => $"{g.Key} {g.Count()}")) +
                $"); accepted while A's slots had no primary: {spike.AcceptedBetween(killedAt, failedOverAt)}, after: " +
                $"{spike.AcceptedBetween(failedOverAt, sold)}");
        }

        // Deal A: sold out exactly once through the failover, nothing answered while no replica could hold it.
        var acceptedA = AssertSoldOutOnce(outcomesA);
        Assert.True(a.Resent > 0, "calls on A's primary when it died were answered 'outcome unknown' and resent");
        var unreplicated = a.AcceptedBetween(failedOverAt, restartedAt, startedAfter: failedOverAt);
        Assert.True(unreplicated == 0, $"{unreplicated} of A's orders were answered 'accepted' while its primary had no replica");
        // Deals B and C: no error at all, though calls of theirs ran while A's slots had no primary.
        var acceptedB = AssertSoldOutOnce(outcomesB);
        var acceptedC = AssertSoldOutOnce(outcomesC);
        foreach (var spike in new[] { b, c })
        {
            Assert.All(spike.Attempts, x => Assert.True(x.Final, $"{x.Code} for a call of another primary's deal"));
            Assert.Contains(spike.Attempts, x => x.Start < failedOverAt && x.End > killedAt);
        }

        // Redis, asked of the primary that serves each deal's slot now: every accepted order, no stock left.
        foreach (var (dealId, port, accepted) in new[]
                 {
                     (deals[0], newPrimary, acceptedA), (deals[1], primaries[1], acceptedB), (deals[2], primaries[2], acceptedC),
                 })
        {
            Assert.Equal(port, await cluster.PrimaryPortForKeyAsync(DealKeys.HashTag(dealId)));
            var node = cluster.NodeOn(port);
            Assert.Equal(Stock.ToString(CultureInfo.InvariantCulture), await node.ExecuteAsync(["EXISTS",
                .. accepted.Select(o => OrderKeys.Order(dealId, Guid.Parse(o.Order!.OrderId)).ToString())]));
            Assert.Equal("0", await node.ExecuteAsync("GET", DealKeys.Stock(dealId).ToString()));
            var rows = await PostgresOrders.WaitForAsync(database.DataSource, dealId, Stock, TimeSpan.FromSeconds(60));
            Assert.Equal(accepted.Select(o => Guid.Parse(o.Order!.OrderId)).Order(), rows.Select(r => r.OrderId).Order());
            Assert.Equal(Stock, rows.Select(r => r.UserId).Distinct().Count());
            await Eventually.HoldsAsync(async () => await node.ExecuteAsync("XLEN", OrderKeys.Stream(dealId).ToString()) == "0",
                $"deal {dealId}'s stream is drained", TimeSpan.FromSeconds(60));
        }
        output.WriteLine($"every order in PostgreSQL and every stream drained at {clock.Elapsed.TotalSeconds:0.00} s");

        // The cluster-wide reconcile after the faults: every registered deal, no drift.
        var (exitCode, report) = await ReconcileAsync();
        output.WriteLine(report);
        Assert.Equal(0, exitCode);
        foreach (var dealId in deals)
        {
            Assert.Matches($@"{dealId}\s+redis\s+{Stock}\s+0\s+{Stock}\s+{Stock}\s+{Stock}\s+{Stock}\s+0\s+ok", report);
        }
    }

    /// <summary>A new deal id whose hash tag's slot the primary on <paramref name="port"/> serves.</summary>
    private async Task<Guid> DealOnAsync(int port)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var dealId = Guid.NewGuid();
            if (await cluster.PrimaryPortForKeyAsync(DealKeys.HashTag(dealId)) == port)
            {
                return dealId;
            }
        }
        throw new InvalidOperationException($"No deal id landed on the primary on {port}.");
    }

    /// <summary>EVALSHA and EVAL calls the node has run (INFO commandstats: "calls=N,usec=…").</summary>
    private static async Task<long> ScriptCallsAsync(int port) =>
        (await RedisClusterSet.InfoAsync(port, "commandstats"))
            .Where(kv => kv.Key is "cmdstat_evalsha" or "cmdstat_eval")
            .Sum(kv => long.Parse(kv.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));

    /// <summary>Every buyer ends accepted or SOLD_OUT, the stock sold exactly once, one order per buyer.</summary>
    private static List<PlaceOutcome> AssertSoldOutOnce(IEnumerable<PlaceOutcome> outcomes)
    {
        var all = outcomes.ToList();
        Assert.Equal(BuyersPerDeal, all.Count);
        var accepted = all.Where(o => o.Accepted).ToList();
        Assert.All(all.Where(o => !o.Accepted), o => Assert.Equal((StatusCode.FailedPrecondition, "SOLD_OUT"), (o.Code, o.Reason)));
        Assert.Equal(Stock, accepted.Count);
        Assert.Equal(Stock, accepted.Select(o => o.Order!.OrderId).Distinct().Count());
        Assert.Equal(Stock, accepted.Select(o => o.UserId).Distinct().Count());
        return accepted;
    }

    private async Task<(int ExitCode, string Output)> ReconcileAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["ConnectionStrings:Redis"] = cluster.ConnectionString,
        }).Build();
        using var report = new StringWriter();
        var exitCode = await ReconcileCommand.RunAsync([ReconcileCommand.Verb], configuration, report);
        return (exitCode, report.ToString());
    }

    /// <summary>One call as a buyer made it: when it started and ended on the test's clock, and what it answered.</summary>
    private sealed record Attempt(TimeSpan Start, TimeSpan End, StatusCode Code, bool Accepted)
    {
        /// <summary>Accepted or refused for good; anything else means "outcome unknown, resend the key".</summary>
        public bool Final => Code is not (StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
            or StatusCode.Cancelled or StatusCode.DeadlineExceeded);
    }

    /// <summary>
    /// One deal's buyers (buyer-n, one unit each, idempotency key "k"), 16 in flight, spread over the orders replicas;
    /// a buyer whose outcome is unknown resends the same key 100 ms later to the next replica, for at most
    /// <see cref="ResendBudget"/>. Every call is recorded.
    /// </summary>
    private sealed class DealSpike(OrderCluster orders, Guid dealId, Stopwatch clock)
    {
        private readonly SemaphoreSlim _gate = new(16);
        private readonly ConcurrentQueue<Attempt> _attempts = new();
        private readonly List<Task<PlaceOutcome>> _buyers = [];

        public IReadOnlyCollection<Attempt> Attempts => _attempts;

        public int Resent => _attempts.Count(x => !x.Final);

        /// <summary>Sends buyers <paramref name="firstBuyer"/> to <paramref name="firstBuyer"/> + <paramref name="count"/> - 1.</summary>
        public void Start(int firstBuyer, int count) => _buyers.AddRange(Enumerable.Range(firstBuyer, count).Select(BuyAsync));

        /// <summary>Every buyer's final outcome, once all have one.</summary>
        public Task<PlaceOutcome[]> OutcomesAsync() => Task.WhenAll(_buyers);

        public async Task AcceptedAtLeastAsync(int count) =>
            await Eventually.HoldsAsync(() => Task.FromResult(_attempts.Count(x => x.Accepted) >= count),
                $"{count} orders of deal {dealId} are accepted", TimeSpan.FromSeconds(60));

        /// <summary>Calls answered "accepted" between the two times (and started after <paramref name="startedAfter"/>).</summary>
        public int AcceptedBetween(TimeSpan from, TimeSpan to, TimeSpan? startedAfter = null) =>
            _attempts.Count(x => x.Accepted && x.End >= from && x.End < to && x.Start >= (startedAfter ?? TimeSpan.Zero));

        /// <summary>When the first call started after <paramref name="time"/> was answered "accepted".</summary>
        public TimeSpan? FirstAcceptedStartedAfter(TimeSpan time) =>
            _attempts.Where(x => x.Accepted && x.Start >= time).Select(x => (TimeSpan?)x.End).Min();

        private async Task<PlaceOutcome> BuyAsync(int buyer)
        {
            await _gate.WaitAsync();
            try
            {
                var first = clock.Elapsed;
                for (var attempt = 0; ; attempt++)
                {
                    var start = clock.Elapsed;
                    var outcome = await OrderCluster.PlaceAsync(orders.Client(buyer + attempt), $"buyer-{buyer}", dealId, "k", 1);
                    var recorded = new Attempt(start, clock.Elapsed, outcome.Code, outcome.Accepted);
                    _attempts.Enqueue(recorded);
                    if (recorded.Final)
                    {
                        return outcome;
                    }
                    Assert.True(clock.Elapsed - first < ResendBudget, $"buyer-{buyer} of deal {dealId}: still {outcome.Code}");
                    await Task.Delay(100);
                }
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}
