using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Contracts.Events.V1;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Grpc;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Orders.Events;

/// <summary>
/// The coupon events a batch of coupon snapshots implies: CouponClaimed once per coupon, then per order it was redeemed
/// on a CouponRedeemed and, when that order was cancelled or expired, a CouponReleased (cause: the order id). Like
/// <see cref="OrderEvents"/>, each snapshot appends everything it implies in order (a release implies the redemption it
/// ends, every redemption the claim), the outbox ignoring what it holds: a batch applied twice or an older snapshot
/// arriving late emits nothing more, and a coupon's claim always precedes its redemptions, each redemption its release.
/// </summary>
public static class CouponEvents
{
    public static List<OutboxEvent> Implied(IEnumerable<CouponRecord> snapshots)
    {
        var events = new List<OutboxEvent>();
        foreach (var coupon in snapshots.OrderBy(c => c.ClaimTime).ThenBy(c => c.CouponId, StringComparer.Ordinal)
                     .ThenBy(c => c.Version))
        {
            events.Add(Event(coupon.CouponId, "", coupon.ClaimTime,
                new Event { CouponClaimed = new CouponClaimed { Coupon = Claimed(coupon) } }));
            if (coupon is { Status: CouponStatuses.Redeemed, OrderId: { } order })
            {
                events.Add(Redeemed(coupon, coupon.ToProto(), order, coupon.RedeemTime));
            }
            if (coupon.ReleasedOrderId is { } left)
            {
                var there = Claimed(coupon);
                there.Status = CouponStatus.Redeemed;
                there.OrderId = left.ToString("D");
                if (coupon.ReleasedRedeemTime is { } redeemedAt)
                {
                    there.RedeemTime = Timestamp.FromDateTimeOffset(redeemedAt);
                }
                events.Add(Redeemed(coupon, there, left, coupon.ReleasedRedeemTime));
                events.Add(Event(coupon.CouponId, left.ToString("D"), coupon.ReleaseTime ?? coupon.ClaimTime,
                    new Event { CouponReleased = new CouponReleased { Coupon = Claimed(coupon), OrderId = left.ToString("D") } }));
            }
        }
        return events;
    }

    private static OutboxEvent Redeemed(CouponRecord coupon, Coupon state, Guid order, DateTimeOffset? time) =>
        Event(coupon.CouponId, order.ToString("D"), time ?? coupon.ClaimTime,
            new Event { CouponRedeemed = new CouponRedeemed { Coupon = state, OrderId = order.ToString("D") } });

    /// <summary>The coupon as claimed: owned, on no order.</summary>
    private static Coupon Claimed(CouponRecord coupon)
    {
        var proto = coupon.ToProto();
        proto.Status = CouponStatus.Claimed;
        proto.OrderId = "";
        proto.RedeemTime = null;
        return proto;
    }

    private static OutboxEvent Event(string subject, string cause, DateTimeOffset time, Event message)
    {
        message.Time = Timestamp.FromDateTimeOffset(time);
        return new OutboxEvent(EventStreams.Coupons, subject, cause, message);
    }
}
