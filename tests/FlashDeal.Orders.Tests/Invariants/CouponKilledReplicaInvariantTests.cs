using FlashDeal.Orders.Coupons;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// A replica killed (SIGKILL) in the middle of a give-away: every coupon it answered OK is in Redis and reaches
/// PostgreSQL, the coupon stream entries it held are claimed by the survivors, and claimers whose call died with it
/// retry with their key elsewhere and get their coupon, never a second one.
/// </summary>
[Collection(DataServers.Name)]
public sealed class CouponKilledReplicaInvariantTests(PostgresDatabase database, RedisServer redis)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task AReplicaKilledMidGiveAwayLosesNoClaim()
    {
        const int total = 300;
        const int claimers = 1800;
        await using var survivors = await OrderCluster.StartAsync(2, database.ConnectionString, Server.ConnectionString, new()
        {
            ["Orders:Stream:ClaimMinIdle"] = "00:00:05",
            ["Orders:Stream:ClaimInterval"] = "00:00:00.200",
        });
        await using var jwks = await JwksEndpoint.StartAsync(TestTokens.Shared.Keys);
        await using var victim = await OrdersProcess.StartCutOffFromPostgresAsync(Server.ConnectionString, jwks);
        var campaign = await survivors.Hosts[0].Coupons.CreateAsync(CouponClient.NewCampaign(total));
        var campaignId = Guid.Parse(campaign.CampaignId);
        var clients = new[] { victim.Coupons, survivors.Hosts[0].Coupons, survivors.Hosts[1].Coupons };

        var completed = 0;
        var retried = 0;
        var killed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new SemaphoreSlim(48);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, claimers).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var outcome = await clients[i % 3].ClaimAsync($"claimer-{i}", campaign.CampaignId, "k");
                if (Interlocked.Increment(ref completed) == total / 2)
                {
                    killed.TrySetResult(await KillAsync(victim, campaignId));
                }
                // Outcome unknown (the replica died under the call): retry with the same key elsewhere.
                for (var attempt = 1; outcome.Code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
                    or StatusCode.Cancelled or StatusCode.DeadlineExceeded; attempt++)
                {
                    Assert.True(attempt < 5, $"{outcome.Code} after {attempt} retries");
                    Interlocked.Increment(ref retried);
                    outcome = await clients[1 + (attempt % 2)].ClaimAsync($"claimer-{i}", campaign.CampaignId, "k");
                }
                return outcome;
            }
            finally
            {
                gate.Release();
            }
        }));
        var pendingAtKill = await killed.Task;

        var claimed = outcomes.Where(o => o.Claimed).ToList();
        Assert.Equal(total, claimed.Count);
        Assert.Equal(total, claimed.Select(o => o.Coupon!.CouponId).Distinct().Count());
        Assert.All(outcomes.Where(o => !o.Claimed), o => Assert.Equal("COUPONS_EXHAUSTED", o.Reason));
        Assert.True(pendingAtKill > 0, "the victim held unacknowledged coupon entries when it died");
        Assert.True(retried > 0, "calls in flight on the victim failed and were retried elsewhere");

        var redisDb = Connection.GetDatabase();
        Assert.Equal(0, (long)await redisDb.StringGetAsync(CouponKeys.Remaining(campaignId)));
        Assert.Equal(total, await redisDb.HashLengthAsync(CouponKeys.Claims(campaignId)));
        var rows = await PostgresCoupons.WaitForAsync(database.DataSource, campaign.CampaignId, total, TimeSpan.FromSeconds(60));
        Assert.Equal(claimed.Select(o => (o.Coupon!.CouponId, o.UserId)).Order(), rows.Select(r => (r.CouponId, r.UserId)).Order());
        await Eventually.HoldsAsync(async () => await redisDb.StreamLengthAsync(CouponKeys.Events(campaignId)) == 0,
            "the victim's entries are claimed and the coupon stream is drained");

        // Resent keys replay the same coupons on the survivors.
        var replays = await Task.WhenAll(claimed.Take(50).Select(o => clients[1].ClaimAsync(o.UserId, campaign.CampaignId, "k")));
        Assert.All(replays, r => Assert.True(r.Replayed, $"{r.Code} {r.Reason}"));
        Assert.Equal(claimed.Take(50).Select(o => o.Coupon!.CouponId), replays.Select(r => r.Coupon!.CouponId));
    }

    /// <summary>Kills the victim once its coupon consumer holds entries (bounded wait); returns how many it held.</summary>
    private async Task<long> KillAsync(OrdersProcess victim, Guid campaignId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline && await VictimPendingAsync(victim, campaignId) == 0)
        {
            await Task.Delay(10);
        }
        victim.Kill();
        return await VictimPendingAsync(victim, campaignId);
    }

    private async Task<long> VictimPendingAsync(OrdersProcess victim, Guid campaignId)
    {
        try
        {
            var pending = await Connection.GetDatabase().StreamPendingAsync(CouponKeys.Events(campaignId), CouponKeys.ConsumerGroup);
            return pending.Consumers.Where(c => c.Name.ToString().Contains($"-{victim.ProcessId}-", StringComparison.Ordinal))
                .Sum(c => (long)c.PendingMessageCount);
        }
        catch (RedisServerException)
        {
            return 0;
        }
    }
}
