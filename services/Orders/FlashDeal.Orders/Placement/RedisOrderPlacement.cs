using System.Globalization;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Data;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Placement;

/// <summary>
/// The hot path (<see cref="PlacementStrategy.RedisLua"/>): a local sold-out check, then place_order.lua, which checks
/// and reserves in one Redis round trip and appends the order to the deal's stream. Nothing here touches PostgreSQL;
/// <see cref="OrderStreamConsumer"/> persists the order afterwards.
/// </summary>
public sealed class RedisOrderPlacement(
    IConnectionMultiplexer redis,
    StreamRegistry registry,
    SoldOutFlags soldOut,
    OrderReader reader,
    UuidV7Generator ids,
    OrdersMetrics metrics,
    ReplicaAcknowledgement replicas,
    CouponRedemption coupons,
    IOptions<OrdersOptions> options) : IOrderPlacement
{
    private readonly OrdersOptions _options = options.Value;
    private readonly ReservationSettings _settings = new(options.Value.PayWindow, options.Value.DealKeyRetention,
        options.Value.FinalOrderRetention);

    public Task<PlacementResult> PlaceAsync(PlaceOrderCommand command, CancellationToken cancellationToken) =>
        command.CouponId is null
            ? PlaceAsync(command, coupon: null, cancellationToken)
            : PlaceWithCouponAsync(command, command.CouponId, cancellationToken);

    /// <summary>
    /// Hold the coupon (its own slot), place the order with its terms (the deal's slot), then confirm or release the
    /// hold (docs/coupons.md, "Redemption"). When the placement's outcome is unknown (an exception) the hold stays: the
    /// order stream's consumer or the hold's lease settles it.
    /// </summary>
    private async Task<PlacementResult> PlaceWithCouponAsync(PlaceOrderCommand command, string couponId,
        CancellationToken cancellationToken)
    {
        if (soldOut.IsSoldOutFor(command.DealId, command.UserId))
        {
            metrics.SoldOutFlagHit();
            return PlacementResult.Refused(Refusals.SoldOut(command.DealId));
        }
        var (hold, refusal) = await coupons.HoldAsync(command, couponId, cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            return PlacementResult.Refused(refusal);
        }
        var result = await PlaceAsync(command, hold, cancellationToken).ConfigureAwait(false);
        if (result.Refusal is { Reason: OrderErrorReason.IdempotencyKeyMismatch })
        {
            // The key placed an order before, which may carry this coupon: that order decides.
            await coupons.SettleAsync(hold!, cancellationToken).ConfigureAwait(false);
            return result;
        }
        if (result.Order is not { } order)
        {
            await coupons.ReleaseAsync(hold!, cancellationToken).ConfigureAwait(false);
            return result;
        }
        if (order.CouponId != couponId)
        {
            // A replay of an order placed with this key but without this coupon.
            await coupons.ReleaseAsync(hold!, cancellationToken).ConfigureAwait(false);
            return PlacementResult.Refused(Refusals.IdempotencyKeyMismatch(order.OrderId));
        }
        if (order.Status is OrderStatus.Cancelled or OrderStatus.Expired)
        {
            await coupons.ReleaseAsync(hold!, cancellationToken).ConfigureAwait(false);
            return result;
        }
        await coupons.ConfirmAsync(hold!, order.OrderId, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task<PlacementResult> PlaceAsync(PlaceOrderCommand command, CouponHold? coupon,
        CancellationToken cancellationToken)
    {
        var dealId = command.DealId;
        if (soldOut.IsSoldOutFor(dealId, command.UserId))
        {
            metrics.SoldOutFlagHit();
            return PlacementResult.Refused(Refusals.SoldOut(dealId));
        }
        var flagVersion = soldOut.Version;
        var orderId = ids.NewGuid();
        var database = redis.GetDatabase();
        var reply = await RunAsync(database, command, orderId, registry.IsRegistered(dealId), coupon, cancellationToken)
            .ConfigureAwait(false);
        if (reply.Status == "REGISTER")
        {
            await registry.RegisterAsync(dealId).WaitAsync(_options.RedisTimeout, cancellationToken).ConfigureAwait(false);
            reply = await RunAsync(database, command, orderId, registered: true, coupon, cancellationToken).ConfigureAwait(false);
        }
        var values = reply.Values;
        switch (reply.Status)
        {
            case "ACCEPTED":
                await ConfirmDurableAsync(dealId, orderId, cancellationToken).ConfigureAwait(false);
                return PlacementResult.Accepted(new OrderRecord
                {
                    OrderId = orderId,
                    UserId = command.UserId,
                    DealId = dealId,
                    ProductId = values[3],
                    ProductName = values[4],
                    DealTitle = values[5],
                    Quantity = command.Quantity,
                    UnitPriceCents = long.Parse(values[6], CultureInfo.InvariantCulture),
                    Currency = values[7],
                    Status = OrderStatus.PendingPayment,
                    IdempotencyKey = command.IdempotencyKey,
                    CreateTime = OrderSnapshot.FromMs(values[1]),
                    PayDeadline = OrderSnapshot.FromMs(values[2]),
                    CouponId = coupon?.CouponId,
                    DiscountCents = long.Parse(values[8], CultureInfo.InvariantCulture),
                });
            case "REPLAYED":
                var original = Guid.Parse(values[0]);
                await ConfirmDurableAsync(dealId, original, cancellationToken).ConfigureAwait(false);
                var order = await FindOriginalAsync(dealId, original, cancellationToken).ConfigureAwait(false);
                return PlacementResult.Accepted(order, replayed: true);
            case "SOLD_OUT":
                soldOut.MarkSoldOut(dealId, flagVersion);
                return PlacementResult.Refused(Refusals.SoldOut(dealId));
            case "INSUFFICIENT_STOCK":
                return PlacementResult.Refused(Refusals.InsufficientStock(dealId, Number(values[0])));
            case "PER_USER_LIMIT_REACHED":
                return PlacementResult.Refused(Refusals.PerUserLimitReached(dealId, Number(values[0]), Number(values[1])));
            case "IDEMPOTENCY_KEY_MISMATCH":
                return PlacementResult.Refused(Refusals.IdempotencyKeyMismatch(Guid.Parse(values[0])));
            case "DEAL_NOT_STARTED":
                return PlacementResult.Refused(Refusals.DealNotStarted(dealId, OrderSnapshot.FromMs(values[0])));
            case "DEAL_ENDED":
                return PlacementResult.Refused(Refusals.DealEnded(dealId, OrderSnapshot.FromMs(values[0])));
            case "DEAL_CANCELLED":
                return PlacementResult.Refused(Refusals.DealCancelled(dealId));
            case "DEAL_NOT_FOUND":
                return PlacementResult.Refused(Refusals.DealNotFound(dealId));
            case "COUPON_NOT_APPLICABLE":
                return PlacementResult.Refused(CouponOrderRefusals.NotApplicable(coupon?.CouponId ?? "", values[0]));
            default:
                throw new InvalidOperationException($"place_order.lua answered '{reply.Status}'.");
        }
    }

    /// <summary>
    /// With Replica durability, an order is answered only once replicas hold it; when that is not known in time the
    /// outcome is unknown (TimeoutException: UNAVAILABLE, "retry with the same idempotency_key", which replays it).
    /// </summary>
    private async Task ConfirmDurableAsync(Guid dealId, Guid orderId, CancellationToken cancellationToken)
    {
        if (_options.Durability == OrderDurability.Replica
            && !await replicas.ConfirmAsync(dealId, orderId, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException(
                $"Order {orderId} was not confirmed on {_options.DurableReplicas} Redis replica(s) within {_options.ReplicaWaitTimeout}.");
        }
    }

    private Task<DealReservationScript.Reply> RunAsync(IDatabaseAsync database, PlaceOrderCommand command, Guid orderId,
        bool registered, CouponHold? coupon, CancellationToken cancellationToken) =>
        DealReservationScript.RunAsync(database, command, orderId, _settings, registered, coupon)
            .WaitAsync(_options.RedisTimeout, cancellationToken);

    private async Task<OrderRecord> FindOriginalAsync(Guid dealId, Guid orderId, CancellationToken cancellationToken) =>
        await reader.FromRedisAsync(dealId, orderId).WaitAsync(_options.RedisTimeout, cancellationToken).ConfigureAwait(false)
        ?? await reader.FindAsync(orderId, cancellationToken).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"Order {orderId} is recorded for an idempotency key but found nowhere.");

    private static long Number(string value) => long.Parse(value, CultureInfo.InvariantCulture);
}
