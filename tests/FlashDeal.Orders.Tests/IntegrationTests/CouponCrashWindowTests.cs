using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Placement;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>
/// The crash windows of redemption (docs/coupons.md): a placement that died between its steps leaves a hold; the order
/// stream's consumer or the next placement of the coupon settles it, so a coupon is never lost nor redeemed twice.
/// </summary>
[Collection(DataServers.Name)]
public sealed class CouponCrashWindowTests(PostgresDatabase database, RedisServer redis)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private OrdersHost _host = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString);
    }

    public override async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await base.DisposeAsync();
    }

    private async Task<(TestDeal Deal, Coupon Coupon, Guid CampaignId, int Number)> SetUpAsync(string userId)
    {
        var deal = await new TestDeal { PriceCents = 1000 }.WriteAsync(Connection.GetDatabase());
        await Connection.GetDatabase().SetAddAsync(OrderKeys.StreamRegistry, deal.DealId.ToString("D"));
        var campaign = await _host.Coupons.CreateAsync(CouponClient.NewCampaign(3, percentOff: 10));
        var coupon = (await _host.Coupons.ClaimRawAsync(userId, campaign.CampaignId, "k")).Coupon;
        CouponIds.TryParse(coupon.CouponId, out var campaignId, out var number);
        return (deal, coupon, campaignId, number);
    }

    [Fact]
    public async Task APlacementThatDiedBeforeConfirmingStillRedeemsTheCouponThroughTheOrderStream()
    {
        var (deal, coupon, campaignId, number) = await SetUpAsync("crash-1");
        var command = new PlaceOrderCommand(deal.DealId, "crash-1", "key", 1, coupon.CouponId);
        var holder = CouponRedemption.HolderOf(deal.DealId, "crash-1", "key");
        // The first two steps of a placement, then nothing: the process "died" before confirm.
        var held = await CouponRedemptionScript.HoldAsync(Connection.GetDatabase(), campaignId, number, "crash-1", deal.DealId,
            holder, TimeSpan.FromMinutes(5));
        Assert.Equal("HELD", held.Status);
        var orderId = Guid.CreateVersion7();
        var reply = await DealReservationScript.RunAsync(Connection.GetDatabase(), command, orderId,
            new ReservationSettings(TimeSpan.FromMinutes(10), TimeSpan.FromDays(1), TimeSpan.FromDays(1)), registered: true,
            new CouponHold(coupon.CouponId, campaignId, number, holder, 10, null, ""));
        Assert.Equal("ACCEPTED", reply.Status);

        await Eventually.HoldsAsync(async () =>
            {
                var current = await _host.Coupons.GetCouponAsync("crash-1", coupon.CouponId);
                return current.Status == CouponStatus.Redeemed && current.OrderId == orderId.ToString("D");
            },
            "the consumer confirmed the coupon on the persisted order");

        // Cancelling the order gives the coupon back, again through the consumer.
        await _host.Client.CancelAsync("crash-1", orderId.ToString("D"));
        await Eventually.HoldsAsync(async () =>
                (await _host.Coupons.GetCouponAsync("crash-1", coupon.CouponId)).Status == CouponStatus.Claimed,
            "the cancelled order released the coupon");
        await Eventually.HoldsAsync(async () =>
                (await PostgresCoupons.OfCampaignAsync(database.DataSource, coupon.CampaignId)) is [{ Status: "CLAIMED", Version: 3 }],
            "PostgreSQL has the coupon CLAIMED again (claimed, redeemed, released)");
    }

    [Fact]
    public async Task AStaleHoldWithoutAnOrderIsReleasedByTheNextPlacement()
    {
        var (deal, coupon, campaignId, number) = await SetUpAsync("crash-2");
        // A placement took the hold and died before placing its order; its lease has run out.
        var held = await CouponRedemptionScript.HoldAsync(Connection.GetDatabase(), campaignId, number, "crash-2", deal.DealId,
            CouponRedemption.HolderOf(deal.DealId, "crash-2", "dead-attempt"), TimeSpan.FromMilliseconds(1));
        Assert.Equal("HELD", held.Status);
        await Task.Delay(20);

        var response = await _host.Client.PlaceAsync(new PlaceOrderRequest
        {
            DealId = deal.DealId.ToString("D"),
            IdempotencyKey = "next",
            CouponId = coupon.CouponId,
        }, "crash-2");

        Assert.Equal((coupon.CouponId, 100L, 900L), (response.Order.CouponId, response.Order.DiscountCents, response.Order.TotalCents));
        var redeemed = await _host.Coupons.GetCouponAsync("crash-2", coupon.CouponId);
        Assert.Equal((CouponStatus.Redeemed, response.Order.OrderId), (redeemed.Status, redeemed.OrderId));
    }

    [Fact]
    public async Task AStaleHoldWhoseOrderWasPlacedIsConfirmedNotGivenToAnotherOrder()
    {
        var (deal, coupon, campaignId, number) = await SetUpAsync("crash-3");
        var holder = CouponRedemption.HolderOf(deal.DealId, "crash-3", "first");
        // A placement took the hold, placed its order and died before confirming; its lease has run out. (The order
        // stream's consumer may confirm it first: either way the coupon stays on that order.)
        await CouponRedemptionScript.HoldAsync(Connection.GetDatabase(), campaignId, number, "crash-3", deal.DealId, holder,
            TimeSpan.FromMilliseconds(1));
        var orderId = Guid.CreateVersion7();
        var placed = await DealReservationScript.RunAsync(Connection.GetDatabase(),
            new PlaceOrderCommand(deal.DealId, "crash-3", "first", 1, coupon.CouponId), orderId,
            new ReservationSettings(TimeSpan.FromMinutes(10), TimeSpan.FromDays(1), TimeSpan.FromDays(1)), registered: true,
            new CouponHold(coupon.CouponId, campaignId, number, holder, 10, null, ""));
        Assert.Equal("ACCEPTED", placed.Status);
        await Task.Delay(20);

        var info = await Assertions.RefusedAsync(_host.Client.PlaceAsync(new PlaceOrderRequest
        {
            DealId = deal.DealId.ToString("D"),
            IdempotencyKey = "second",
            CouponId = coupon.CouponId,
        }, "crash-3"), global::Grpc.Core.StatusCode.FailedPrecondition, "COUPON_ALREADY_REDEEMED");

        Assert.Equal(orderId.ToString("D"), info.Metadata["order_id"]);
        var redeemed = await _host.Coupons.GetCouponAsync("crash-3", coupon.CouponId);
        Assert.Equal((CouponStatus.Redeemed, orderId.ToString("D")), (redeemed.Status, redeemed.OrderId));
    }
}
