using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Contracts.Events.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Tests.Events;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// A coupon is redeemed on exactly one order (docs/coupons.md, "Redemption"): the same coupon sent on two PlaceOrder calls
/// at once (other keys, other deals, other replicas) ends on one order; cancelling that order gives it back.
/// </summary>
[Collection(DataServers.Name)]
public sealed class CouponRedemptionInvariantTests(PostgresDatabase database, RedisServer redis)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task ACouponSentOnTwoOrdersAtOnceEndsOnExactlyOneAndReturnsWhenItIsCancelled()
    {
        const int users = 60;
        await using var cluster = await OrderCluster.StartAsync(3, database.ConnectionString, Server.ConnectionString);
        var dealA = await new TestDeal { Stock = 1000, PerUserLimit = 0, PriceCents = 1999 }.WriteAsync(Connection.GetDatabase());
        var dealB = await new TestDeal { Stock = 1000, PerUserLimit = 0, PriceCents = 4550 }.WriteAsync(Connection.GetDatabase());
        var campaign = await cluster.Hosts[0].Coupons.CreateAsync(CouponClient.NewCampaign(users, percentOff: 25));
        var coupons = await Task.WhenAll(Enumerable.Range(0, users).Select(async i =>
            (await cluster.Hosts[i % 3].Coupons.ClaimRawAsync($"saver-{i}", campaign.CampaignId, "k")).Coupon));

        // Each user sends the coupon twice at once: half the users on one deal with two keys, half on two deals.
        var pairs = await Task.WhenAll(coupons.Select(async (coupon, i) =>
        {
            var secondDeal = i % 2 == 0 ? dealA : dealB;
            var outcomes = await Task.WhenAll(
                PlaceAsync(cluster.Client(i), coupon.UserId, dealA.DealId, "first", coupon.CouponId),
                PlaceAsync(cluster.Client(i + 1), coupon.UserId, secondDeal.DealId, "second", coupon.CouponId));
            return (Coupon: coupon, Outcomes: outcomes);
        }));

        var orders = new List<FlashDeal.Contracts.Orders.V1.Order>();
        foreach (var (coupon, outcomes) in pairs)
        {
            var accepted = Assert.Single(outcomes, o => o.Accepted);
            var refused = Assert.Single(outcomes, o => !o.Accepted);
            Assert.Contains((refused.Code, refused.Reason), new (StatusCode, string?)[]
            {
                (StatusCode.FailedPrecondition, "COUPON_ALREADY_REDEEMED"), (StatusCode.Aborted, "COUPON_IN_USE"),
            });
            var order = accepted.Order!;
            var price = order.DealId == dealA.DealId.ToString("D") ? dealA.PriceCents : dealB.PriceCents;
            Assert.Equal(coupon.CouponId, order.CouponId);
            Assert.Equal(CouponDiscount.Compute(1, price, 25, null), order.DiscountCents);
            Assert.Equal(price - order.DiscountCents, order.TotalCents);
            orders.Add(order);
        }
        // Confirmed before the answer; should that step have timed out on a busy machine, the order stream confirms it.
        Coupon[] redeemed = [];
        await Eventually.HoldsAsync(async () =>
        {
            redeemed = await Task.WhenAll(coupons.Select(c => cluster.Hosts[0].Coupons.GetCouponAsync(c.UserId, c.CouponId)));
            return redeemed.All(c => c.Status == CouponStatus.Redeemed);
        }, "every coupon is REDEEMED");
        Assert.Equal(orders.Select(o => (o.CouponId, o.OrderId)).Order(), redeemed.Select(c => (c.CouponId, c.OrderId)).Order());
        await WaitForPostgresAsync(campaign.CampaignId, rows => rows.All(r => r.Status == CouponStatuses.Redeemed)
            && rows.Select(r => (r.CouponId, r.OrderId?.ToString("D"))).Order()
                .SequenceEqual(orders.Select(o => (o.CouponId, (string?)o.OrderId)).Order()), "every coupon redeemed in PostgreSQL");
        Assert.Equal(users, await OrdersWithCouponsAsync(campaign.CampaignId));

        // Cancelling an order gives its coupon back (through the order stream's consumer); it then redeems again.
        var cancelled = orders.Take(10).ToList();
        await Task.WhenAll(cancelled.Select(o => cluster.Client(0).CancelAsync(o.UserId, o.OrderId)));
        await Eventually.HoldsAsync(async () => (await Task.WhenAll(cancelled.Select(o =>
                cluster.Hosts[1].Coupons.GetCouponAsync(o.UserId, o.CouponId)))).All(c => c.Status == CouponStatus.Claimed),
            "the cancelled orders' coupons are CLAIMED again");
        var again = await Task.WhenAll(cancelled.Select(o =>
            PlaceAsync(cluster.Client(2), o.UserId, dealB.DealId, "after-cancel", o.CouponId)));
        Assert.All(again, o => Assert.True(o.Accepted, $"{o.Code} {o.Reason}"));
        Assert.All(again, o => Assert.Equal(CouponDiscount.Compute(1, dealB.PriceCents, 25, null), o.Order!.DiscountCents));
        var final = orders.Skip(10).Concat(again.Select(o => o.Order!)).ToList();
        await WaitForPostgresAsync(campaign.CampaignId, rows => rows.All(r => r.Status == CouponStatuses.Redeemed)
            && rows.Select(r => r.OrderId?.ToString("D")).Order().SequenceEqual(final.Select(o => (string?)o.OrderId).Order()),
            "PostgreSQL has every coupon on its live order");
        // Live orders with a coupon: one per coupon.
        await Eventually.HoldsAsync(async () => await OrdersWithCouponsAsync(campaign.CampaignId) == users,
            "PostgreSQL holds one live order per coupon");

        // Domain events (docs/events.md): per coupon, claimed, redeemed on its first order, and for the cancelled ones
        // released from it and redeemed on the next, each once and in that order; the relay publishes exactly those.
        var firstOrder = orders.ToDictionary(o => o.CouponId, o => o.OrderId);
        var secondOrder = again.ToDictionary(o => o.Order!.CouponId, o => o.Order!.OrderId);
        List<(string Subject, string Type, string Cause)> expected = [.. coupons.SelectMany(c =>
            new List<(string, string, string)>
            {
                (c.CouponId, CouponClaimed.Descriptor.FullName, ""),
                (c.CouponId, CouponRedeemed.Descriptor.FullName, firstOrder[c.CouponId]),
            }.Concat(secondOrder.TryGetValue(c.CouponId, out var next)
                ? [(c.CouponId, CouponReleased.Descriptor.FullName, firstOrder[c.CouponId]),
                   (c.CouponId, CouponRedeemed.Descriptor.FullName, next)]
                : []))];
        await Eventually.HoldsAsync(async () => (await CouponEventsAsync(campaign.CampaignId)).Count == expected.Count
            && (await EventLog.StreamAsync(Connection.GetDatabase(), EventStreams.Coupons)).Count(e => e.Key.StartsWith(
                campaign.CampaignId, StringComparison.Ordinal)) == expected.Count, "every coupon event recorded and published");
        var recorded = await CouponEventsAsync(campaign.CampaignId);
        Assert.Equal(expected.Order(), recorded.Order());
        foreach (var coupon in coupons)
        {
            Assert.Equal(expected.Where(e => e.Subject == coupon.CouponId), recorded.Where(e => e.Subject == coupon.CouponId));
        }
    }

    /// <summary>The campaign's coupon events in the outbox, in sequence order.</summary>
    private async Task<List<(string Subject, string Type, string Cause)>> CouponEventsAsync(string campaignId)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT subject, type, cause FROM orders.event_outbox WHERE stream = $1 AND subject LIKE $2 ORDER BY sequence");
        command.Parameters.Add(new NpgsqlParameter { Value = EventStreams.Coupons });
        command.Parameters.Add(new NpgsqlParameter { Value = campaignId + "~%" });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string, string)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }
        return rows;
    }

    [Fact]
    public async Task CouponRefusalsLeaveTheCouponClaimed()
    {
        await using var cluster = await OrderCluster.StartAsync(1, database.ConnectionString, Server.ConnectionString);
        var client = cluster.Client(0);
        var coupons = cluster.Hosts[0].Coupons;
        var deal = await new TestDeal { Stock = 1, PerUserLimit = 0, PriceCents = 500 }.WriteAsync(Connection.GetDatabase());
        var other = await new TestDeal { PriceCents = 500, Currency = "EUR" }.WriteAsync(Connection.GetDatabase());
        var scoped = await coupons.CreateAsync(CouponClient.NewCampaign(5, dealId: Guid.NewGuid()));
        var dollars = await coupons.CreateAsync(CouponClient.NewCampaign(5, amountOffCents: 800, currency: "USD"));
        var scopedCoupon = (await coupons.ClaimRawAsync("u", scoped.CampaignId, "k")).Coupon;
        var dollarCoupon = (await coupons.ClaimRawAsync("u", dollars.CampaignId, "k")).Coupon;

        Assert.Equal((StatusCode.FailedPrecondition, "COUPON_NOT_APPLICABLE", "deal"),
            Reason(await PlaceAsync(client, "u", deal.DealId, "a", scopedCoupon.CouponId)));
        Assert.Equal((StatusCode.FailedPrecondition, "COUPON_NOT_APPLICABLE", "currency"),
            Reason(await PlaceAsync(client, "u", other.DealId, "b", dollarCoupon.CouponId)));
        Assert.Equal((StatusCode.NotFound, "COUPON_NOT_FOUND", ""),
            Reason(await PlaceAsync(client, "someone-else", deal.DealId, "c", dollarCoupon.CouponId)));
        Assert.Equal((StatusCode.NotFound, "COUPON_NOT_FOUND", ""),
            Reason(await PlaceAsync(client, "u", deal.DealId, "d", "not-a-coupon")));
        await client.PlaceAsync("buyer", deal.DealId, "k");
        Assert.Equal((StatusCode.FailedPrecondition, "SOLD_OUT", ""),
            Reason(await PlaceAsync(client, "u", deal.DealId, "e", dollarCoupon.CouponId)));
        Assert.Equal(CouponStatus.Claimed, (await coupons.GetCouponAsync("u", dollarCoupon.CouponId)).Status);

        // The amount is capped at the price: the order costs nothing, never less.
        var fresh = await new TestDeal { PriceCents = 500 }.WriteAsync(Connection.GetDatabase());
        var order = (await PlaceAsync(client, "u", fresh.DealId, "f", dollarCoupon.CouponId)).Order!;
        Assert.Equal((500L, 0L), (order.DiscountCents, order.TotalCents));
        // A retry of that placement replays it, coupon and all.
        var replay = await PlaceAsync(client, "u", fresh.DealId, "f", dollarCoupon.CouponId);
        Assert.True(replay.Replayed);
        Assert.Equal(order.OrderId, replay.Order!.OrderId);
        Assert.Equal(CouponStatus.Redeemed, (await coupons.GetCouponAsync("u", dollarCoupon.CouponId)).Status);
    }

    private static (StatusCode, string?, string) Reason(PlaceOutcome outcome) =>
        (outcome.Code, outcome.Reason, outcome.Why ?? "");

    private static async Task<PlaceOutcome> PlaceAsync(OrderClient client, string userId, Guid dealId, string key,
        string couponId)
    {
        try
        {
            var response = await client.PlaceAsync(new PlaceOrderRequest
            {
                DealId = dealId.ToString("D"),
                IdempotencyKey = key,
                CouponId = couponId,
            }, userId);
            return new PlaceOutcome(userId, key, response.Order, response.Replayed, StatusCode.OK, null);
        }
        catch (RpcException e)
        {
            var info = e.GetDetail<ErrorInfo>();
            return new PlaceOutcome(userId, key, null, false, e.StatusCode, info?.Reason)
            {
                Why = info?.Metadata.TryGetValue("why", out var why) == true ? why : null,
            };
        }
    }

    private async Task WaitForPostgresAsync(string campaignId, Func<List<PostgresCoupons.Row>, bool> condition, string what) =>
        await Eventually.HoldsAsync(async () => condition(await PostgresCoupons.OfCampaignAsync(database.DataSource, campaignId)),
            what);

    /// <summary>Pending or paid orders in PostgreSQL carrying a coupon of the campaign.</summary>
    private async Task<long> OrdersWithCouponsAsync(string campaignId)
    {
        await using var command = database.DataSource.CreateCommand("""
            SELECT count(*) FROM orders.orders WHERE coupon_id LIKE $1 || '~%' AND status IN ('PENDING_PAYMENT', 'PAID')
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = campaignId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
