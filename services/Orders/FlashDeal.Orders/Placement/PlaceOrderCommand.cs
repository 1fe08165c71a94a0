using FlashDeal.Orders.Model;

namespace FlashDeal.Orders.Placement;

/// <summary>A validated PlaceOrder request of one user.</summary>
/// <param name="CouponId">A coupon to redeem on the order (docs/coupons.md), or null.</param>
public sealed record PlaceOrderCommand(Guid DealId, string UserId, string IdempotencyKey, int Quantity,
    string? CouponId = null);

/// <summary>Reserves stock for an order; one implementation per <see cref="PlacementStrategy"/>.</summary>
public interface IOrderPlacement
{
    Task<PlacementResult> PlaceAsync(PlaceOrderCommand command, CancellationToken cancellationToken);
}
