using System.Text.RegularExpressions;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.ServiceDefaults;

namespace FlashDeal.Orders.Grpc;

/// <summary>Input checks of the RPCs; every problem becomes a field violation naming the proto field.</summary>
public static partial class OrderRequests
{
    public const int MaxIdempotencyKeyLength = 64;
    public const int MaxPaymentTokenLength = 512;
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;
    public const int MaxCouponIdLength = 64;

    public static (Guid DealId, int Quantity) Validate(PlaceOrderRequest request, int maxQuantity)
    {
        var violations = new FieldViolations();
        var dealId = Uuid(request.DealId, "deal_id", violations);
        var quantity = request.HasQuantity ? request.Quantity : 1;
        violations.Check(quantity >= 1, "quantity", "must be at least 1");
        violations.Check(quantity <= maxQuantity, "quantity", $"must be at most {maxQuantity}");
        if (request.IdempotencyKey.Length == 0)
        {
            violations.Add("idempotency_key", "is required");
        }
        else
        {
            violations.Check(IdempotencyKeyPattern().IsMatch(request.IdempotencyKey), "idempotency_key",
                $"must be 1 to {MaxIdempotencyKeyLength} characters of A-Z, a-z, 0-9, '_' and '-'");
        }
        violations.MaxLength(request.CouponId, MaxCouponIdLength, "coupon_id");
        violations.ThrowIfAny();
        return (dealId, quantity);
    }

    public static Guid OrderId(string orderId)
    {
        var violations = new FieldViolations();
        var id = Uuid(orderId, "order_id", violations);
        violations.ThrowIfAny();
        return id;
    }

    public static Guid ValidatePay(PayOrderRequest request)
    {
        var violations = new FieldViolations();
        var id = Uuid(request.OrderId, "order_id", violations);
        violations.Required(request.PaymentToken, "payment_token")
            .MaxLength(request.PaymentToken, MaxPaymentTokenLength, "payment_token");
        violations.ThrowIfAny();
        return id;
    }

    public static (int PageSize, Guid? DealId, OrderStatus[] Statuses) Validate(ListMyOrdersRequest request)
    {
        var violations = new FieldViolations();
        violations.Check(request.PageSize >= 0, "page_size", "must not be negative");
        Guid? dealId = request.DealId.Length == 0 ? null : Uuid(request.DealId, "deal_id", violations);
        violations.Check(request.Statuses.All(s => s is >= OrderStatus.PendingPayment and <= OrderStatus.Expired),
            "statuses", "must name order statuses other than ORDER_STATUS_UNSPECIFIED");
        violations.ThrowIfAny();
        var pageSize = request.PageSize == 0 ? DefaultPageSize : Math.Min(request.PageSize, MaxPageSize);
        return (pageSize, dealId, [.. request.Statuses.Distinct().Order()]);
    }

    private static Guid Uuid(string value, string field, FieldViolations violations)
    {
        if (string.IsNullOrEmpty(value))
        {
            violations.Add(field, "is required");
            return Guid.Empty;
        }
        if (!Guid.TryParseExact(value, "D", out var id))
        {
            violations.Add(field, "must be a UUID (8-4-4-4-12 hex digits)");
        }
        return id;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex IdempotencyKeyPattern();
}
