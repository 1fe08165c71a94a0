using System.Diagnostics;
using FlashDeal.Orders.Coupons;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// The claim guarantees of docs/coupons.md under real concurrency: three replicas, one PostgreSQL, one Redis, thousands
/// of claimers for a hundred coupons. Counted from what clients saw and from what Redis and PostgreSQL hold afterwards.
/// </summary>
[Collection(DataServers.Name)]
public sealed class CouponClaimInvariantTests(PostgresDatabase database, RedisServer redis, ITestOutputHelper output)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task FiveThousandClaimersGetExactlyTheHundredCouponsOncePerUser()
    {
        const int total = 100;
        const int claimers = 5000;
        await using var cluster = await OrderCluster.StartAsync(3, database.ConnectionString, Server.ConnectionString);
        var campaign = await cluster.Hosts[0].Coupons.CreateAsync(CouponClient.NewCampaign(total));
        var campaignId = Guid.Parse(campaign.CampaignId);

        var gate = new SemaphoreSlim(128);
        var started = Stopwatch.GetTimestamp();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, claimers).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await cluster.Hosts[i % 3].Coupons.ClaimAsync($"claimer-{i}", campaign.CampaignId, "k");
            }
            finally
            {
                gate.Release();
            }
        }));
        var elapsed = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"{claimers} claims over 3 replicas, 128 in flight: {elapsed.TotalSeconds:F2} s, " +
            $"{claimers / elapsed.TotalSeconds:F0} claims/s (a measurement, not an assertion)");

        var claimed = outcomes.Where(o => o.Claimed).ToList();
        Assert.Equal(total, claimed.Count);
        Assert.All(outcomes.Where(o => !o.Claimed),
            o => Assert.Equal((StatusCode.FailedPrecondition, "COUPONS_EXHAUSTED"), (o.Code, o.Reason)));
        Assert.Equal(total, claimed.Select(o => o.UserId).Distinct().Count());
        Assert.All(claimed, o => Assert.Equal(o.UserId, o.Coupon!.UserId));
        Assert.Equal(Enumerable.Range(1, total), claimed.Select(o => Number(o.Coupon!.CouponId)).Order());

        var database2 = Connection.GetDatabase();
        Assert.Equal(0, (long)await database2.StringGetAsync(CouponKeys.Remaining(campaignId)));
        Assert.Equal(total, await database2.HashLengthAsync(CouponKeys.Claims(campaignId)));

        var rows = await PostgresCoupons.WaitForAsync(database.DataSource, campaign.CampaignId, total);
        Assert.Equal(claimed.Select(o => (o.Coupon!.CouponId, o.UserId)).Order(),
            rows.Select(r => (r.CouponId, r.UserId)).Order());
        Assert.All(rows, r => Assert.Equal(CouponStatuses.Claimed, r.Status));

        // Every winner's retry replays its coupon on any replica; another key is refused with the coupon's id.
        var replays = await Task.WhenAll(claimed.Select((o, i) => cluster.Hosts[(i + 1) % 3].Coupons.ClaimAsync(o.UserId,
            campaign.CampaignId, "k")));
        Assert.All(replays, r => Assert.True(r.Replayed, $"{r.Code} {r.Reason}"));
        Assert.Equal(claimed.Select(o => o.Coupon!.CouponId).Order(), replays.Select(r => r.Coupon!.CouponId).Order());
        var other = await cluster.Hosts[2].Coupons.ClaimAsync(claimed[0].UserId, campaign.CampaignId, "another-key");
        Assert.Equal((StatusCode.FailedPrecondition, "ALREADY_CLAIMED"), (other.Code, other.Reason));
        Assert.Equal(total, await database2.HashLengthAsync(CouponKeys.Claims(campaignId)));
        Assert.Equal(0, (await cluster.Hosts[1].Coupons.GetAsync(campaign.CampaignId)).RemainingQuantity);
        // The flood after the last coupon was answered from the replicas' exhausted flags, with the same outcome.
        Assert.Contains(cluster.Hosts, h => h.Services.GetRequiredService<ExhaustedCampaigns>().Count == 1);
        var late = await cluster.Hosts[0].Coupons.ClaimAsync("late-comer", campaign.CampaignId, "k");
        Assert.Equal((StatusCode.FailedPrecondition, "COUPONS_EXHAUSTED"), (late.Code, late.Reason));
    }

    [Fact]
    public async Task OneUsersParallelBurstWithManyKeysGetsOneCoupon()
    {
        await using var cluster = await OrderCluster.StartAsync(3, database.ConnectionString, Server.ConnectionString);
        var campaign = await cluster.Hosts[0].Coupons.CreateAsync(CouponClient.NewCampaign(10));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            cluster.Hosts[i % 3].Coupons.ClaimAsync("greedy", campaign.CampaignId, $"attempt-{i}")));

        var claimed = Assert.Single(outcomes, o => o.Claimed);
        Assert.All(outcomes.Where(o => !o.Claimed), o => Assert.Equal("ALREADY_CLAIMED", o.Reason));
        Assert.Equal(9, (await cluster.Hosts[0].Coupons.GetAsync(campaign.CampaignId)).RemainingQuantity);
        var row = Assert.Single(await PostgresCoupons.WaitForAsync(database.DataSource, campaign.CampaignId, 1));
        Assert.Equal(claimed.Coupon!.CouponId, row.CouponId);
    }

    [Fact]
    public async Task ClaimsOutsideTheWindowAreRefusedAndTakeNothing()
    {
        await using var cluster = await OrderCluster.StartAsync(1, database.ConnectionString, Server.ConnectionString);
        var coupons = cluster.Hosts[0].Coupons;
        var now = DateTimeOffset.UtcNow;
        var upcoming = await coupons.CreateAsync(CouponClient.NewCampaign(5, start: now.AddHours(1), end: now.AddHours(2)));
        var ended = await coupons.CreateAsync(CouponClient.NewCampaign(5, start: now.AddHours(-2), end: now.AddSeconds(-1)));

        Assert.Equal("CAMPAIGN_NOT_STARTED", (await coupons.ClaimAsync("u", upcoming.CampaignId, "k")).Reason);
        Assert.Equal("CAMPAIGN_ENDED", (await coupons.ClaimAsync("u", ended.CampaignId, "k")).Reason);
        Assert.Equal("CAMPAIGN_NOT_FOUND", (await coupons.ClaimAsync("u", Guid.NewGuid().ToString(), "k")).Reason);
        Assert.Equal(5, (await coupons.GetAsync(upcoming.CampaignId)).RemainingQuantity);
        Assert.Equal(5, (await coupons.GetAsync(ended.CampaignId)).RemainingQuantity);
    }

    private static int Number(string couponId) => CouponIds.TryParse(couponId, out _, out var n) ? n : -1;
}
