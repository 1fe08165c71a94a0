using FlashDeal.Data.Redis;
using StackExchange.Redis;

namespace FlashDeal.Orders.Redis;

/// <summary>
/// Keys the order path owns. Per-deal keys share the deal's hash tag (<see cref="DealKeys.HashTag"/>); the few global
/// ones are touched outside the Lua scripts only, so every script stays inside one Cluster slot.
/// </summary>
public static class OrderKeys
{
    /// <summary>SET of deal ids whose stream may hold entries (read by the stream consumer and the expiry sweeper).</summary>
    public const string StreamRegistry = "flashdeal:orders:streams";

    /// <summary>Pub/sub channel: a deal id whose stock grew (cancel, expiry), so sold-out flags can drop.</summary>
    public const string StockReturnedChannel = "flashdeal:stock-returned";

    /// <summary>Consumer group that drains the per-deal streams into PostgreSQL.</summary>
    public const string ConsumerGroup = "orders-postgres";

    /// <summary>HASH user_id → units held (pending or paid orders); never negative.</summary>
    public static RedisKey Buyers(Guid dealId) => $"{DealKeys.HashTag(dealId)}:buyers";

    /// <summary>HASH "&lt;user_id&gt;:&lt;idempotency_key&gt;" → "&lt;quantity&gt;:&lt;order_id&gt;".</summary>
    public static RedisKey Idempotency(Guid dealId) => $"{DealKeys.HashTag(dealId)}:idem";

    /// <summary>STREAM of order snapshots (placement and every status change), drained into PostgreSQL.</summary>
    public static RedisKey Stream(Guid dealId) => $"{DealKeys.HashTag(dealId)}:orders";

    /// <summary>STREAM of entries the consumer could not read (a bug wrote them); kept for inspection.</summary>
    public static RedisKey DeadLetters(Guid dealId) => $"{DealKeys.HashTag(dealId)}:orders-dead";

    /// <summary>ZSET order_id scored by pay deadline (unix ms) of the deal's pending orders.</summary>
    public static RedisKey Deadlines(Guid dealId) => $"{DealKeys.HashTag(dealId)}:deadlines";

    /// <summary>ZSET order_id scored by refund lock end (unix ms) of the deal's refunds in progress (the reconciler's list).</summary>
    public static RedisKey Refunding(Guid dealId) => $"{DealKeys.HashTag(dealId)}:refunding";

    /// <summary>SET of "&lt;deal_id&gt;:&lt;order_id&gt;": charges taken for orders that had already left PENDING_PAYMENT
    /// (cancelled or expired while being charged), to refund until the provider confirms (PaymentReconciler).</summary>
    public const string ChargesToRefund = "flashdeal:orders:charges-to-refund";

    /// <summary>HASH: one order's fields and status (<see cref="OrderFields"/>), the truth for its state machine.</summary>
    public static RedisKey Order(Guid dealId, Guid orderId) => $"{DealKeys.HashTag(dealId)}:order:{orderId:D}";
}

/// <summary>Field names of an order hash and of the stream entries, named after the proto fields.</summary>
public static class OrderFields
{
    public const string OrderId = "order_id";
    public const string UserId = "user_id";
    public const string DealId = "deal_id";
    public const string ProductId = "product_id";
    public const string ProductName = "product_name";
    public const string DealTitle = "deal_title";
    public const string Quantity = "quantity";
    public const string UnitPriceCents = "unit_price_cents";
    public const string Currency = "currency";
    public const string Status = "status";
    public const string IdempotencyKey = "idempotency_key";
    public const string CreateMs = "create_ms";
    public const string PayDeadlineMs = "pay_deadline_ms";
    public const string PaidMs = "paid_ms";
    public const string CancelMs = "cancel_ms";
    public const string PaymentReference = "payment_reference";
    public const string PaymentTokenHash = "payment_token_hash";
    public const string RefundMs = "refund_ms";
    public const string RefundReference = "refund_reference";

    /// <summary>"1" when the refund returned the units to the deal's stock, "0" when the deal was over.</summary>
    public const string StockReturned = "stock_returned";
    public const string CouponId = "coupon_id";
    public const string DiscountCents = "discount_cents";
}
