using FlashDeal.Contracts.Orders.V1;

namespace FlashDeal.Orders.Model;

/// <summary>One order as the service stores it (PostgreSQL row, Redis order hash, stream entry).</summary>
public sealed record OrderRecord
{
    public required Guid OrderId { get; init; }
    public required string UserId { get; init; }
    public required Guid DealId { get; init; }
    public required string ProductId { get; init; }
    public required string ProductName { get; init; }
    public required string DealTitle { get; init; }
    public required int Quantity { get; init; }
    public required long UnitPriceCents { get; init; }
    public required string Currency { get; init; }
    public required OrderStatus Status { get; init; }
    public required string IdempotencyKey { get; init; }
    public required DateTimeOffset CreateTime { get; init; }
    public required DateTimeOffset PayDeadline { get; init; }
    public DateTimeOffset? PaidTime { get; init; }
    public DateTimeOffset? CancelTime { get; init; }
    public string? PaymentReference { get; init; }
    public DateTimeOffset? RefundTime { get; init; }
    public string? RefundReference { get; init; }

    /// <summary>REFUNDED only: whether the refund gave the units back to the deal (false once the deal was over).</summary>
    public bool StockReturned { get; init; }

    /// <summary>SHA-256 (hex) of the payment token that paid the order; the token itself is never stored.</summary>
    public string? PaymentTokenHash { get; init; }

    /// <summary>The coupon redeemed on this order (docs/coupons.md); null when none.</summary>
    public string? CouponId { get; init; }

    /// <summary>The coupon's discount, computed by place_order.lua; 0 without a coupon.</summary>
    public long DiscountCents { get; init; }

    public long TotalCents => Quantity * UnitPriceCents - DiscountCents;

    /// <summary>PENDING_PAYMENT and PAID (which a refund changes) may change; every other status is final.</summary>
    public bool IsFinal => Status is not (OrderStatus.PendingPayment or OrderStatus.Paid);
}

/// <summary>The status names used in PostgreSQL and Redis: the proto value name without its prefix.</summary>
public static class OrderStatuses
{
    public const string PendingPayment = "PENDING_PAYMENT";
    public const string Paid = "PAID";
    public const string Cancelled = "CANCELLED";
    public const string Expired = "EXPIRED";
    public const string Refunded = "REFUNDED";

    /// <summary>How far along the state machine a status is: a snapshot of higher rank supersedes a lower one.</summary>
    public static int Rank(OrderStatus status) => status switch
    {
        OrderStatus.PendingPayment => 0,
        OrderStatus.Paid => 1,
        _ => 2,
    };

    public static string ToName(OrderStatus status) => status switch
    {
        OrderStatus.PendingPayment => PendingPayment,
        OrderStatus.Paid => Paid,
        OrderStatus.Cancelled => Cancelled,
        OrderStatus.Expired => Expired,
        OrderStatus.Refunded => Refunded,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static OrderStatus Parse(string name) => name switch
    {
        PendingPayment => OrderStatus.PendingPayment,
        Paid => OrderStatus.Paid,
        Cancelled => OrderStatus.Cancelled,
        Expired => OrderStatus.Expired,
        Refunded => OrderStatus.Refunded,
        _ => throw new FormatException($"Unknown order status '{name}'."),
    };
}
