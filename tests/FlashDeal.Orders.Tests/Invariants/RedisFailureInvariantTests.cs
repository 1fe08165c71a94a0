using System.Diagnostics;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// Invariants 1 and 4 when Redis itself fails in the middle of a spike, with three orders replicas on real Redis
/// processes: the primary killed after its replica fell behind (Sentinel promotes the replica), the replica killed, and
/// a single server killed and restarted from its AOF. Clients whose call ended with an unknown outcome resend their
/// key, as the API tells them to; afterwards Redis and PostgreSQL are counted.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RedisFailureInvariantTests(PostgresDatabase database, ITestOutputHelper output)
    : IClassFixture<PostgresDatabase>
{
    private const int Stock = 400;
    private const int Buyers = 2000;

    // The failover scenarios need orders still flowing when the primary dies, on a fast machine too.
    private const int FailoverStock = 2000;
    private const int FailoverBuyers = 5000;

    // Long enough for a replica on a busy machine; short enough that the frozen phases stay short.
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Orders:ReplicaWaitTimeout"] = "00:00:01",
        ["Orders:Stream:ClaimMinIdle"] = "00:00:02",
        ["Orders:Stream:ClaimInterval"] = "00:00:00.200",
    };

    /// <summary>
    /// The replica stops receiving (pointed at a port nobody listens on: the replication lag a slow link or a busy
    /// replica causes, made certain), orders keep coming, then the primary dies and Sentinel promotes the replica.
    /// With Replica durability nothing answered "accepted" is missing from the new primary, and PostgreSQL holds exactly
    /// the accepted orders: the stream consumer wrote none of the orders the failover took back.
    /// </summary>
    [Fact]
    public async Task WithReplicaDurabilityAPrimaryLostBeforeItsReplicaCaughtUpLosesNoAcceptedOrder()
    {
        var run = await KillLaggingPrimaryAsync(OrderDurability.Replica);

        Assert.Empty(run.Lost);
        Assert.Equal(FailoverStock, run.Accepted.Count);
        Assert.Equal(0, run.Remaining);
        Assert.Empty(run.Postgres.Unaccepted);
        Assert.Empty(run.Postgres.Missing);
    }

    /// <summary>
    /// The control: the same failover under Local durability loses the orders accepted while the replica lagged (their
    /// buyers were told "accepted", and their units are sold again on the new primary). It shows the scenario above can
    /// fail, and it is the window docs/redis.md describes.
    /// </summary>
    [Fact]
    public async Task WithLocalDurabilityTheSameFailoverLosesTheOrdersTheReplicaNeverReceived()
    {
        var run = await KillLaggingPrimaryAsync(OrderDurability.Local);

        Assert.NotEmpty(run.Lost);
        Assert.Equal(FailoverStock + run.Lost.Count, run.Accepted.Count);
    }

    /// <summary>
    /// The replica killed mid-spike and started again: under Local durability buyers notice nothing; under Replica
    /// durability orders are answered "outcome unknown" until it is back and the resent keys then succeed. Either way
    /// every accepted order is in Redis and PostgreSQL, once.
    /// </summary>
    [Theory]
    [InlineData(OrderDurability.Local)]
    [InlineData(OrderDurability.Replica)]
    public async Task AReplicaKilledMidSpikeLosesNoAcceptedOrder(OrderDurability durability)
    {
        using var redis = new RedisSentinelSet();
        await redis.InitializeAsync();
        await using var cluster = await StartOrdersAsync(redis.ConnectionString, durability);
        using var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var deal = await new TestDeal { Stock = Stock, PerUserLimit = 1 }.WriteAsync(client.GetDatabase());
        var primary = await redis.PrimaryPortAsync();
        var replica = redis.Servers.Single(s => s.Port != primary);

        var spike = new Spike(cluster, deal.DealId, Buyers);
        var run = spike.RunAsync();
        await spike.AcceptedAtLeastAsync(Stock / 4);
        await replica.StopAsync();
        // Long enough that Replica durability's WAITs time out while it is gone.
        await Task.Delay(TimeSpan.FromSeconds(2));
        await replica.StartAsync();
        var outcomes = await run;

        var accepted = AssertSoldOutOnce(outcomes);
        output.WriteLine($"{durability}: {spike.Resent} resent calls");
        if (durability == OrderDurability.Local)
        {
            Assert.Equal(0, spike.Resent);
        }
        else
        {
            Assert.True(spike.Resent > 0, "orders placed while the replica was down were answered outcome-unknown");
        }
        Assert.Empty(await MissingAsync(client.GetDatabase(), deal.DealId, accepted));
        Assert.Equal(0, await TestDeal.RemainingAsync(client.GetDatabase(), deal.DealId));
        await AssertPostgresHoldsExactlyAsync(client.GetDatabase(), deal.DealId, accepted);
    }

    /// <summary>
    /// One Redis with its AOF (fsync every second) killed mid-spike and started again on the same files: the AOF is
    /// written before a reply leaves, so a process crash loses nothing that was answered, and resent keys replay the
    /// orders whose answers the crash swallowed.
    /// </summary>
    [Fact]
    public async Task ARedisRestartedFromItsAofMidSpikeLosesNoAcceptedOrder()
    {
        using var redis = new RedisServer { Arguments = ["--appendonly", "yes", "--appendfsync", "everysec"] };
        await redis.StartAsync();
        await using var cluster = await StartOrdersAsync(redis.ConnectionString, OrderDurability.Local);
        using var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",abortConnect=false");
        var deal = await new TestDeal { Stock = Stock, PerUserLimit = 1 }.WriteAsync(client.GetDatabase());

        var spike = new Spike(cluster, deal.DealId, Buyers);
        var run = spike.RunAsync();
        await spike.AcceptedAtLeastAsync(Stock / 2);
        await redis.StopAsync();
        var down = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(1));
        await redis.StartAsync();
        output.WriteLine($"Redis down for {down.ElapsedMilliseconds} ms");
        var outcomes = await run;

        var accepted = AssertSoldOutOnce(outcomes);
        Assert.True(spike.Resent > 0, "calls in flight when Redis died were resent");
        Assert.Empty(await MissingAsync(client.GetDatabase(), deal.DealId, accepted));
        Assert.Equal(0, await TestDeal.RemainingAsync(client.GetDatabase(), deal.DealId));
        await AssertPostgresHoldsExactlyAsync(client.GetDatabase(), deal.DealId, accepted);
    }

    private sealed record FailoverRun(List<PlaceOutcome> Accepted, List<PlaceOutcome> Lost, long Remaining,
        PostgresComparison Postgres);

    /// <summary>Orders PostgreSQL holds that no buyer was told were accepted, and accepted orders it lacks.</summary>
    private sealed record PostgresComparison(List<Guid> Unaccepted, List<Guid> Missing);

    private async Task<FailoverRun> KillLaggingPrimaryAsync(OrderDurability durability)
    {
        // Two replicas, as Replica durability needs in production: after the failover one is left to acknowledge.
        using var redis = new RedisSentinelSet { Replicas = 2 };
        await redis.InitializeAsync();
        await using var cluster = await StartOrdersAsync(redis.ConnectionString, durability);
        var deal = await WriteDealAsync(redis.ConnectionString, FailoverStock);
        var oldPrimary = await redis.PrimaryPortAsync();
        var replicas = redis.Servers.Where(s => s.Port != oldPrimary).ToList();

        var spike = new Spike(cluster, deal.DealId, FailoverBuyers);
        var run = spike.RunAsync();
        await spike.AcceptedAtLeastAsync(FailoverStock / 10);
        var acceptedBeforeLag = spike.Accepted;
        foreach (var replica in replicas)
        {
            // Port 1: nothing listens there; the replica keeps its data and retries in vain. Sentinel points the one it
            // does not promote at the new primary during the failover.
            await replica.ExecuteAsync("REPLICAOF", RedisServer.Host, "1");
        }
        // Orders keep arriving while the replica receives nothing: Local accepts some (waited for, bounded); Replica's
        // WAITs cannot succeed, so it accepts none and the bound is what passes.
        await spike.AcceptedAtLeastAsync(acceptedBeforeLag + FailoverStock / 20, TimeSpan.FromSeconds(1.5));
        await redis.KillPrimaryAsync();
        var killedAt = DateTimeOffset.UtcNow;
        var killed = Stopwatch.StartNew();
        var newPrimary = await redis.WaitForNewPrimaryAsync(oldPrimary, TimeSpan.FromSeconds(30));
        Assert.Contains(newPrimary, replicas.Select(r => r.Port));
        var promoted = killed.Elapsed;
        var outcomes = await run;
        var accepted = outcomes.Where(o => o.Accepted).ToList();
        // Order times come from the Redis server's clock, on this machine: the first order the new primary placed.
        var firstOnNewPrimary = accepted.Select(o => o.Order!.CreateTime.ToDateTimeOffset()).Where(t => t > killedAt)
            .DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        output.WriteLine($"{durability}: promoted {promoted.TotalSeconds:0.0} s after the kill, the first order placed " +
            $"on it {(firstOnNewPrimary - killedAt).TotalSeconds:0.0} s after the kill; {spike.Resent} resent calls");

        Assert.All(outcomes.Where(o => !o.Accepted), o => Assert.Equal("SOLD_OUT", o.Reason));
        Assert.Equal(accepted.Count, accepted.Select(o => o.UserId).Distinct().Count());
        using var client = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var lost = await MissingAsync(client.GetDatabase(), deal.DealId, accepted);
        var postgres = await CompareWithPostgresAsync(client.GetDatabase(), deal.DealId, accepted);
        output.WriteLine($"{durability}: {accepted.Count} accepted, {lost.Count} of them missing on the new primary; " +
            $"PostgreSQL holds {postgres.Unaccepted.Count} orders never accepted and lacks {postgres.Missing.Count} accepted ones");
        return new FailoverRun(accepted, lost, await TestDeal.RemainingAsync(client.GetDatabase(), deal.DealId), postgres);
    }

    private async Task<OrderCluster> StartOrdersAsync(string redis, OrderDurability durability) =>
        await OrderCluster.StartAsync(3, database.ConnectionString, redis, new Dictionary<string, string?>(Settings)
        {
            ["Orders:Durability"] = durability.ToString(),
        });

    private static async Task<TestDeal> WriteDealAsync(string redis, int stock)
    {
        using var client = await ConnectionMultiplexer.ConnectAsync(redis);
        return await new TestDeal { Stock = stock, PerUserLimit = 1 }.WriteAsync(client.GetDatabase());
    }

    /// <summary>Every buyer ends accepted or SOLD_OUT, the stock sold exactly once, one order per buyer.</summary>
    private static List<PlaceOutcome> AssertSoldOutOnce(PlaceOutcome[] outcomes)
    {
        var accepted = outcomes.Where(o => o.Accepted).ToList();
        Assert.All(outcomes.Where(o => !o.Accepted), o => Assert.Equal("SOLD_OUT", o.Reason));
        Assert.Equal(Stock, accepted.Count);
        Assert.Equal(Stock, accepted.Select(o => o.Order!.OrderId).Distinct().Count());
        Assert.Equal(Stock, accepted.Select(o => o.UserId).Distinct().Count());
        return accepted;
    }

    /// <summary>Once the deal's order stream is drained (everything in it persisted), what PostgreSQL holds against <paramref name="accepted"/>.</summary>
    private async Task<PostgresComparison> CompareWithPostgresAsync(IDatabase redis, Guid dealId, List<PlaceOutcome> accepted)
    {
        await Eventually.HoldsAsync(async () => await redis.StreamLengthAsync(OrderKeys.Stream(dealId)) == 0,
            "the order stream is drained into PostgreSQL", TimeSpan.FromSeconds(60));
        var rows = (await PostgresOrders.OfDealAsync(database.DataSource, dealId)).Select(r => r.OrderId).ToHashSet();
        var ids = accepted.Select(o => Guid.Parse(o.Order!.OrderId)).ToHashSet();
        return new PostgresComparison([.. rows.Except(ids)], [.. ids.Except(rows)]);
    }

    private async Task AssertPostgresHoldsExactlyAsync(IDatabase redis, Guid dealId, List<PlaceOutcome> accepted)
    {
        var postgres = await CompareWithPostgresAsync(redis, dealId, accepted);
        Assert.Empty(postgres.Unaccepted);
        Assert.Empty(postgres.Missing);
    }

    /// <summary>The accepted orders whose hash the (current) primary does not have.</summary>
    private static async Task<List<PlaceOutcome>> MissingAsync(IDatabase redis, Guid dealId, List<PlaceOutcome> accepted)
    {
        var exists = await Task.WhenAll(accepted.Select(o =>
            redis.KeyExistsAsync(OrderKeys.Order(dealId, Guid.Parse(o.Order!.OrderId)))));
        return [.. accepted.Where((_, i) => !exists[i])];
    }

    /// <summary>
    /// Many buyers, 48 calls in flight, each resending its key (any replica, 100 ms apart, until 90 s into
    /// the spike) while the outcome is unknown, as clients are told to.
    /// </summary>
    private sealed class Spike(OrderCluster cluster, Guid dealId, int buyers)
    {
        private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _accepted;
        private int _resent;

        public int Accepted => Volatile.Read(ref _accepted);

        public int Resent => Volatile.Read(ref _resent);

        public async Task<PlaceOutcome[]> RunAsync()
        {
            // Held per call, not per buyer: while some buyers wait to resend, others place new orders.
            var gate = new SemaphoreSlim(48);
            async Task<PlaceOutcome> CallAsync(int buyer, int replica)
            {
                await gate.WaitAsync();
                try
                {
                    return await OrderCluster.PlaceAsync(cluster.Client(replica), $"buyer-{buyer}", dealId, "k", 1);
                }
                finally
                {
                    gate.Release();
                }
            }
            return await Task.WhenAll(Enumerable.Range(0, buyers).Select(async i =>
            {
                var outcome = await CallAsync(i, i);
                for (var attempt = 1; Unknown(outcome.Code); attempt++)
                {
                    Assert.True(_clock.Elapsed < Bound, $"buyer-{i}: still {outcome.Code} {Bound.TotalSeconds} s into the spike");
                    Interlocked.Increment(ref _resent);
                    await Task.Delay(100);
                    outcome = await CallAsync(i, i + attempt);
                }
                if (outcome.Accepted)
                {
                    Interlocked.Increment(ref _accepted);
                }
                return outcome;
            }));
        }

        /// <summary>Waits until <paramref name="count"/> orders were accepted (fails after 60 s, or returns after <paramref name="bound"/>).</summary>
        public async Task AcceptedAtLeastAsync(int count, TimeSpan? bound = null)
        {
            var waited = Stopwatch.StartNew();
            while (Accepted < count)
            {
                if (bound is { } limit && waited.Elapsed >= limit)
                {
                    return;
                }
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"{count} orders accepted within 60 s");
                await Task.Delay(5);
            }
        }

        private static bool Unknown(StatusCode code) => code is StatusCode.Unavailable or StatusCode.Internal
            or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.DeadlineExceeded;
    }
}
