using System.Globalization;
using FlashDeal.Grpc;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// The refusal: RESOURCE_EXHAUSTED with ErrorInfo (reason RATE_LIMITED, the service's domain, metadata policy,
/// partition, retry_after_seconds) and RetryInfo. Transcoding turns it into HTTP 429 with Retry-After in whole seconds.
/// </summary>
public static class RateLimitErrors
{
    public const string Reason = "RATE_LIMITED";

    public static RpcException RateLimited(string domain, RateLimitPolicy policy, string partition, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        var info = new ErrorInfo { Reason = Reason, Domain = domain };
        info.Metadata["policy"] = policy.Name;
        info.Metadata["partition"] = partition;
        info.Metadata["retry_after_seconds"] = seconds.ToString(CultureInfo.InvariantCulture);
        var retry = new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) };
        var milliseconds = Math.Ceiling(retryAfter.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        return RpcException.WithDetails(StatusCode.ResourceExhausted,
            $"Too many calls (limit '{policy.Name}'); retry in {milliseconds} ms.", info, retry);
    }
}
