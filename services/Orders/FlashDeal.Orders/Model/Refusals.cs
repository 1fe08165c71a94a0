using System.Globalization;
using FlashDeal.Contracts.Orders.V1;

namespace FlashDeal.Orders.Model;

/// <summary>Every refusal the service gives, with the ErrorInfo metadata orders_errors.proto promises.</summary>
public static class Refusals
{
    public static OrderRefusal DealNotFound(Guid dealId) =>
        OrderRefusal.Of(OrderErrorReason.DealNotFound, "No deal with that id is open for orders.", Deal(dealId));

    public static OrderRefusal DealNotStarted(Guid dealId, DateTimeOffset start) =>
        OrderRefusal.Of(OrderErrorReason.DealNotStarted, "The deal has not started yet.", Deal(dealId),
            ("start_time", Rfc3339(start)));

    public static OrderRefusal DealEnded(Guid dealId, DateTimeOffset end) =>
        OrderRefusal.Of(OrderErrorReason.DealEnded, "The deal has ended.", Deal(dealId), ("end_time", Rfc3339(end)));

    public static OrderRefusal DealCancelled(Guid dealId) =>
        OrderRefusal.Of(OrderErrorReason.DealCancelled, "The deal was cancelled.", Deal(dealId));

    public static OrderRefusal SoldOut(Guid dealId) =>
        OrderRefusal.Of(OrderErrorReason.SoldOut, "The deal is sold out.", Deal(dealId));

    public static OrderRefusal InsufficientStock(Guid dealId, long remaining) =>
        OrderRefusal.Of(OrderErrorReason.InsufficientStock, $"Only {remaining} unit(s) remain.", Deal(dealId),
            ("remaining_stock", Number(remaining)));

    public static OrderRefusal PerUserLimitReached(Guid dealId, long limit, long already) =>
        OrderRefusal.Of(OrderErrorReason.PerUserLimitReached,
            $"At most {limit} unit(s) per user; {already} already ordered.", Deal(dealId),
            ("per_user_limit", Number(limit)), ("already_ordered", Number(already)));

    public static OrderRefusal IdempotencyKeyMismatch(Guid originalOrderId) =>
        OrderRefusal.Of(OrderErrorReason.IdempotencyKeyMismatch,
            "idempotency_key was used before with a different request.", Order(originalOrderId));

    public static OrderRefusal OrderNotFound(string orderId) =>
        OrderRefusal.Of(OrderErrorReason.OrderNotFound, "No such order among yours.", ("order_id", orderId));

    public static OrderRefusal OrderExpired(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.OrderExpired, "The order's payment window has passed.", Order(orderId));

    public static OrderRefusal OrderCancelled(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.OrderCancelled, "The order was cancelled.", Order(orderId));

    public static OrderRefusal OrderAlreadyPaid(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.OrderAlreadyPaid, "The order is already paid.", Order(orderId));

    public static OrderRefusal OrderRefunded(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.OrderRefunded, "The order was refunded.", Order(orderId));

    public static OrderRefusal RefundProviderUnavailable(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.RefundProviderUnavailable,
            "The payment provider could not be reached to refund the order; it stays PAID unless the refund went through. Retry.",
            Order(orderId));

    public static OrderRefusal PaymentDeclined(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.PaymentDeclined, "The payment was declined.", Order(orderId));

    public static OrderRefusal PaymentProviderUnavailable(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.PaymentProviderUnavailable,
            "The payment provider could not be reached; nothing was charged. Retry with the same payment_token.",
            Order(orderId));

    public static OrderRefusal PaymentInProgress(Guid orderId) =>
        OrderRefusal.Of(OrderErrorReason.PaymentInProgress,
            "Another payment of this order is in progress; retry shortly.", Order(orderId));

    public static string Rfc3339(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static (string, string) Deal(Guid dealId) => ("deal_id", dealId.ToString("D"));

    private static (string, string) Order(Guid orderId) => ("order_id", orderId.ToString("D"));

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
