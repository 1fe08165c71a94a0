using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Model;
using FlashDeal.ServiceDefaults;
using Grpc.Core;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Grpc;

/// <summary>
/// Refusals and infrastructure failures as gRPC statuses with google.rpc.ErrorInfo (domain orders.flashdeal.dev, reason =
/// OrderErrorReason value name). REST gets the standard mapping: FAILED_PRECONDITION is 400 as orders_errors.proto says,
/// NOT_FOUND 404, ABORTED 409, UNAVAILABLE 503.
/// </summary>
public static class OrderErrors
{
    public const string Domain = "orders.flashdeal.dev";

    public static RpcException ToRpcException(OrderRefusal refusal) => ToStatus(refusal).ToRpcException();

    /// <summary>The refusal as a google.rpc.Status (code, message, ErrorInfo).</summary>
    public static Google.Rpc.Status ToStatus(OrderRefusal refusal) =>
        RpcErrors.ReasonStatus(CodeOf(refusal.Reason), ReasonName(refusal.Reason), Domain, refusal.Message,
            refusal.Metadata);

    public static StatusCode CodeOf(OrderErrorReason reason) => reason switch
    {
        OrderErrorReason.DealNotFound or OrderErrorReason.OrderNotFound or OrderErrorReason.CouponNotFound => StatusCode.NotFound,
        OrderErrorReason.IdempotencyKeyMismatch => StatusCode.InvalidArgument,
        OrderErrorReason.RateLimited => StatusCode.ResourceExhausted,
        OrderErrorReason.PaymentProviderUnavailable or OrderErrorReason.RefundProviderUnavailable => StatusCode.Unavailable,
        OrderErrorReason.PaymentInProgress or OrderErrorReason.CouponInUse => StatusCode.Aborted,
        _ => StatusCode.FailedPrecondition,
    };

    /// <summary>The enum value's proto name (SOLD_OUT), which is the ErrorInfo reason.</summary>
    public static string ReasonName(OrderErrorReason reason) =>
        OrderErrorsReflection.Descriptor.EnumTypes[0].FindValueByNumber((int)reason).Name;

    /// <summary>Maps what a handler may throw besides RpcException; null leaves the exception to the runtime.</summary>
    public static RpcException? Translate(Exception exception) => exception switch
    {
        OrderRefusalException refusal => ToRpcException(refusal.Refusal),
        RedisException or TimeoutException => new RpcException(new Status(StatusCode.Unavailable,
            "The order store did not answer in time; the outcome is unknown. Retry with the same idempotency_key.")),
        NpgsqlException => new RpcException(new Status(StatusCode.Unavailable, "The order database is unavailable; retry later.")),
        NotSupportedException => new RpcException(new Status(StatusCode.Unimplemented, exception.Message)),
        _ => null,
    };
}
