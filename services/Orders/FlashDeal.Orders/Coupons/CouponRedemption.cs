using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Placement;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Coupons;

/// <summary>A coupon held for one placement, with the terms place_order.lua turns into the order's discount.</summary>
public sealed record CouponHold(string CouponId, Guid CampaignId, int Number, string Holder, int? PercentOff,
    long? AmountOffCents, string Currency);

/// <summary>
/// Redeeming a coupon on PlaceOrder (docs/coupons.md, "Redemption"). The coupon and the deal live in different Redis
/// slots, so a placement with a coupon is three steps: <see cref="HoldAsync"/> on the coupon's slot, place_order.lua on
/// the deal's, then <see cref="ConfirmAsync"/> (accepted) or <see cref="ReleaseAsync"/> (refused). A crash between the
/// steps is closed by the order stream's consumer (<see cref="OnOrdersPersistedAsync"/>: every persisted order carrying
/// a coupon confirms it, every cancelled or expired one releases it) and by the next hold of that coupon once the lease
/// ran out (<see cref="SettleStaleHoldAsync"/>).
/// </summary>
public sealed partial class CouponRedemption(
    IConnectionMultiplexer redis,
    OrderStore orders,
    IOptions<OrdersOptions> ordersOptions,
    IOptions<CouponsOptions> options,
    ILogger<CouponRedemption> logger)
{
    private readonly OrdersOptions _orders = ordersOptions.Value;
    private readonly CouponsOptions _options = options.Value;

    /// <summary>Who holds a coupon: the placement, named by its idempotency scope (a retry is the same holder).</summary>
    public static string HolderOf(Guid dealId, string userId, string idempotencyKey) =>
        $"{dealId:D}:{userId}:{idempotencyKey}";

    /// <summary>Holds the user's coupon for this placement, or says why not (an OrderErrorReason COUPON_*).</summary>
    public async Task<(CouponHold? Hold, OrderRefusal? Refusal)> HoldAsync(PlaceOrderCommand command, string couponId,
        CancellationToken cancellationToken)
    {
        if (!CouponIds.TryParse(couponId, out var campaignId, out var number))
        {
            return (null, CouponOrderRefusals.NotFound(couponId));
        }
        var holder = HolderOf(command.DealId, command.UserId, command.IdempotencyKey);
        for (var attempt = 1; ; attempt++)
        {
            var reply = await CouponRedemptionScript.HoldAsync(redis.GetDatabase(), campaignId, number, command.UserId,
                command.DealId, holder, _options.HoldLease).WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
            switch (reply.Status)
            {
                case "HELD":
                    return (new CouponHold(couponId, campaignId, number, holder, Number(reply.Values[0]) is { } p ? (int)p : null,
                        Number(reply.Values[1]), reply.Values[2]), null);
                case "COUPON_NOT_FOUND":
                    return (null, CouponOrderRefusals.NotFound(couponId));
                case "COUPON_ALREADY_REDEEMED":
                    return (null, CouponOrderRefusals.AlreadyRedeemed(couponId, reply.Values[0]));
                case "COUPON_NOT_APPLICABLE":
                    return (null, CouponOrderRefusals.NotApplicable(couponId, reply.Values[0]));
                case "COUPON_IN_USE":
                    return (null, CouponOrderRefusals.InUse(couponId));
                case "STALE" when attempt == 1:
                    await SettleStaleHoldAsync(campaignId, number, couponId, reply.Values[0], cancellationToken)
                        .ConfigureAwait(false);
                    continue;
                case "STALE":
                    return (null, CouponOrderRefusals.InUse(couponId));
                default:
                    throw new InvalidOperationException($"coupon_redemption.lua answered '{reply.Status}'.");
            }
        }
    }

    /// <summary>The order is accepted (or replayed): the hold becomes the redemption.</summary>
    public Task ConfirmAsync(CouponHold hold, Guid orderId, CancellationToken cancellationToken) =>
        BestEffortAsync("confirm", hold.CouponId, CouponRedemptionScript.ConfirmAsync(redis.GetDatabase(), hold.CampaignId,
            hold.Number, hold.Holder, orderId), cancellationToken);

    /// <summary>The placement was refused: the coupon is the owner's to use again.</summary>
    public Task ReleaseAsync(CouponHold hold, CancellationToken cancellationToken) =>
        BestEffortAsync("release", hold.CouponId, CouponRedemptionScript.ReleaseAsync(redis.GetDatabase(), hold.CampaignId,
            hold.Number, hold.Holder, null), cancellationToken);

    /// <summary>The hold's placement was refused because its key placed an order before: that order decides.</summary>
    public Task SettleAsync(CouponHold hold, CancellationToken cancellationToken) =>
        SettleStaleHoldAsync(hold.CampaignId, hold.Number, hold.CouponId, hold.Holder, cancellationToken);

    /// <summary>
    /// After a placement answered, the coupon step may fail (Redis away): the order's answer stands, and the stream
    /// consumer or the lease settles the coupon later.
    /// </summary>
    private async Task BestEffortAsync(string step, string couponId, Task<ScriptReply> running, CancellationToken cancellationToken)
    {
        try
        {
            await running.WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogStepFailed(step, couponId, e.Message);
        }
    }

    /// <summary>
    /// Another placement's hold outlived its lease (far longer than any placement waits for Redis, so that placement gave
    /// up or died). Its order decides: placed with this coupon and live ⇒ confirm; otherwise ⇒ release.
    /// </summary>
    private async Task SettleStaleHoldAsync(Guid campaignId, int number, string couponId, string holder,
        CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        Guid? orderId = null;
        var carriesCoupon = false;
        var live = false;
        var userAndKey = holder.Length > 37 ? holder[37..] : "";
        if (Guid.TryParseExact(holder.AsSpan(0, Math.Min(36, holder.Length)), "D", out var dealId) && userAndKey.Length > 0)
        {
            var recorded = (string?)await database.HashGetAsync(OrderKeys.Idempotency(dealId), userAndKey)
                .WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
            if (recorded is not null && Guid.TryParse(recorded[(recorded.IndexOf(':', StringComparison.Ordinal) + 1)..], out var id))
            {
                orderId = id;
                var fields = await database.HashGetAsync(OrderKeys.Order(dealId, id), ["coupon_id", OrderFields.Status])
                    .WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
                string? coupon = fields[0];
                string? status = fields[1];
                if (status is null && await orders.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } stored)
                {
                    coupon = stored.CouponId;
                    status = OrderStatuses.ToName(stored.Status);
                }
                carriesCoupon = coupon == couponId;
                live = status is not null && status != OrderStatuses.Cancelled && status != OrderStatuses.Expired;
            }
        }
        var settle = carriesCoupon && live
            ? CouponRedemptionScript.ConfirmAsync(database, campaignId, number, holder, orderId!.Value)
            : CouponRedemptionScript.ReleaseAsync(database, campaignId, number, holder, null);
        var reply = await settle.WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
        LogSettled(couponId, holder, reply.Status);
    }

    /// <summary>
    /// Called by the order stream's consumer after a batch is in PostgreSQL (before it is acknowledged: at least once,
    /// and both steps are idempotent). Each order carrying a coupon: live (pending, paid, refunded) ⇒ confirm, so a
    /// placement that died between its script and its confirm still redeems the coupon; cancelled or expired ⇒ release,
    /// so the coupon is the owner's again.
    /// </summary>
    public async Task OnOrdersPersistedAsync(IReadOnlyCollection<OrderRecord> snapshots, CancellationToken cancellationToken)
    {
        var latest = new Dictionary<Guid, OrderRecord>();
        foreach (var order in snapshots.Where(o => o.CouponId is not null))
        {
            if (!latest.TryGetValue(order.OrderId, out var seen) || (!seen.IsFinal && order.IsFinal))
            {
                latest[order.OrderId] = order;
            }
        }
        if (latest.Count == 0)
        {
            return;
        }
        var database = redis.GetDatabase();
        var steps = new List<Task<ScriptReply>>(latest.Count);
        foreach (var order in latest.Values)
        {
            if (!CouponIds.TryParse(order.CouponId, out var campaignId, out var number))
            {
                continue;
            }
            var holder = HolderOf(order.DealId, order.UserId, order.IdempotencyKey);
            steps.Add(order.Status is OrderStatus.Cancelled or OrderStatus.Expired
                ? CouponRedemptionScript.ReleaseAsync(database, campaignId, number, holder, order.OrderId)
                : CouponRedemptionScript.ConfirmAsync(database, campaignId, number, holder, order.OrderId));
        }
        await Task.WhenAll(steps).WaitAsync(_orders.RedisTimeout, cancellationToken).ConfigureAwait(false);
    }

    private static long? Number(string value) =>
        long.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture,
            out var number) ? number : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Coupon {CouponId}: {Step} after the placement failed ({Error}); " +
        "the order stream consumer or the hold's lease settles it")]
    private partial void LogStepFailed(string step, string couponId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Coupon {CouponId}: settled the stale hold of {Holder} ({Outcome})")]
    private partial void LogSettled(string couponId, string holder, string outcome);
}

/// <summary>The COUPON_* refusals of PlaceOrder (OrderErrorReason values, domain orders.flashdeal.dev).</summary>
public static class CouponOrderRefusals
{
    public static OrderRefusal NotFound(string couponId) =>
        OrderRefusal.Of(OrderErrorReason.CouponNotFound, "No such coupon among yours.", ("coupon_id", couponId));

    public static OrderRefusal AlreadyRedeemed(string couponId, string orderId) =>
        OrderRefusal.Of(OrderErrorReason.CouponAlreadyRedeemed, "The coupon is redeemed on another order.",
            ("coupon_id", couponId), ("order_id", orderId));

    /// <summary><paramref name="why"/>: "deal" (the campaign covers another deal), "currency" or "expired".</summary>
    public static OrderRefusal NotApplicable(string couponId, string why) =>
        OrderRefusal.Of(OrderErrorReason.CouponNotApplicable, why switch
        {
            "deal" => "The coupon's campaign does not cover this deal.",
            "currency" => "The coupon's amount is in another currency than the deal's price.",
            _ => "The coupon's redeem window is over.",
        }, ("coupon_id", couponId), ("why", why));

    public static OrderRefusal InUse(string couponId) =>
        OrderRefusal.Of(OrderErrorReason.CouponInUse, "Another order is redeeming this coupon right now; retry shortly.",
            ("coupon_id", couponId));
}
