using FlashDeal.Orders.Coupons;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>
/// ClaimCoupon under Orders:Durability=Replica, on a real primary, replica and Sentinels: a coupon is answered only once
/// the replica holds it; a replica that stops acknowledging makes the outcome unknown, and the retry with the same key
/// replays the one coupon.
/// </summary>
[Collection(DataServers.Name)]
public sealed class CouponReplicaDurabilityTests(PostgresDatabase database, RedisSentinelSet redis)
    : IClassFixture<PostgresDatabase>, IClassFixture<RedisSentinelSet>, IAsyncLifetime
{
    private OrdersHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Orders:Durability"] = "Replica",
            ["Orders:ReplicaWaitTimeout"] = "00:00:03",
        });

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    private async Task<RedisServer> ReplicaServerAsync()
    {
        var primary = await redis.PrimaryPortAsync();
        return redis.Servers.Single(s => s.Port != primary);
    }

    private static RedisKey KeyOf(string couponId)
    {
        CouponIds.TryParse(couponId, out var campaignId, out var number);
        return CouponKeys.Coupon(campaignId, number);
    }

    [Fact]
    public async Task AClaimedCouponIsOnTheReplicaWhenItIsAnswered()
    {
        var campaign = await _host.Coupons.CreateAsync(CouponClient.NewCampaign(5));
        var replica = await ReplicaServerAsync();

        var coupon = (await _host.Coupons.ClaimRawAsync("ada", campaign.CampaignId, "k")).Coupon;

        Assert.Equal("1", await replica.ExecuteAsync("EXISTS", KeyOf(coupon.CouponId).ToString()));
    }

    [Fact]
    public async Task AFrozenReplicaMakesTheClaimUnknownAndTheRetryReplaysTheOneCoupon()
    {
        var campaign = await _host.Coupons.CreateAsync(CouponClient.NewCampaign(5));
        var replica = await ReplicaServerAsync();

        await replica.SuspendAsync();
        RpcException refused;
        try
        {
            refused = await Assert.ThrowsAsync<RpcException>(() => _host.Coupons.ClaimRawAsync("grace", campaign.CampaignId, "k"));
        }
        finally
        {
            await replica.ResumeAsync();
        }

        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        var retried = await _host.Coupons.ClaimRawAsync("grace", campaign.CampaignId, "k");
        Assert.True(retried.Replayed);
        Assert.Equal(4, (await _host.Coupons.GetAsync(campaign.CampaignId)).RemainingQuantity);
        Assert.Equal("1", await replica.ExecuteAsync("EXISTS", KeyOf(retried.Coupon.CouponId).ToString()));
    }
}
