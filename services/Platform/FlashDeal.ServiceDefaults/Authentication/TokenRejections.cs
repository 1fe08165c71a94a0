using System.Diagnostics.Metrics;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Counts the calls refused for their credential (flashdeal.auth.tokens.rejected) by the ErrorInfo reason the caller got:
/// ACCESS_TOKEN_MISSING, ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_INVALID, or KEYS_UNAVAILABLE when the signing keys could
/// not be loaded. A closed set: never the token, never the user.
/// </summary>
public sealed class TokenRejections(IMeterFactory meters)
{
    private readonly Counter<long> _rejected = meters.Create("FlashDeal.Authentication").CreateCounter<long>(
        FlashDealMetrics.TokensRejected, "{call}", "Calls refused for their bearer token, by reason.");

    public void Count(Status status)
    {
        var reason = status.Code == (int)StatusCode.Unavailable
            ? "KEYS_UNAVAILABLE"
            : status.GetDetail<ErrorInfo>()?.Reason ?? "UNKNOWN";
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }
}
