using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Orders.Coupons;
using FlashDeal.ServiceDefaults;
using Grpc.Core;

namespace FlashDeal.Orders.Grpc;

/// <summary>
/// Coupon refusals as gRPC statuses with google.rpc.ErrorInfo (domain coupons.flashdeal.dev, reason = CouponErrorReason
/// value name); infrastructure failures as <see cref="OrderErrors.Translate"/> maps them.
/// </summary>
public static class CouponErrors
{
    public const string Domain = "coupons.flashdeal.dev";

    public static Google.Rpc.Status ToStatus(CouponRefusal refusal) =>
        RpcErrors.ReasonStatus(CodeOf(refusal.Reason), ReasonName(refusal.Reason), Domain, refusal.Message, refusal.Metadata);

    public static StatusCode CodeOf(CouponErrorReason reason) => reason switch
    {
        CouponErrorReason.CampaignNotFound or CouponErrorReason.CouponNotFound => StatusCode.NotFound,
        CouponErrorReason.RateLimited => StatusCode.ResourceExhausted,
        _ => StatusCode.FailedPrecondition,
    };

    public static string ReasonName(CouponErrorReason reason) =>
        CouponErrorsReflection.Descriptor.EnumTypes[0].FindValueByNumber((int)reason).Name;

    public static RpcException? Translate(Exception exception) => exception switch
    {
        CouponRefusalException refusal => ToStatus(refusal.Refusal).ToRpcException(),
        _ => OrderErrors.Translate(exception),
    };
}
