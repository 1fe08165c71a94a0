using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using ErrorInfo = Google.Rpc.ErrorInfo;

namespace FlashDeal.LoadTool.Api;

/// <summary>
/// Names the outcome of a failed call the same way over both transports: the google.rpc.ErrorInfo reason when the
/// server sent one, else the gRPC status name (SCREAMING_SNAKE, as in the gRPC spec), else (REST only) HTTP_&lt;code&gt;.
/// </summary>
public static class Outcomes
{
    public const string Ok = "OK";
    public const string Unavailable = "UNAVAILABLE";
    public const string DeadlineExceeded = "DEADLINE_EXCEEDED";
    public const string SoldOut = "SOLD_OUT";
    public const string InsufficientStock = "INSUFFICIENT_STOCK";
    public const string PerUserLimitReached = "PER_USER_LIMIT_REACHED";
    public const string EmailAlreadyRegistered = "EMAIL_ALREADY_REGISTERED";
    public const string AccessTokenExpired = "ACCESS_TOKEN_EXPIRED";

    private const string ErrorInfoType = "google.rpc.ErrorInfo";

    /// <summary>Worth sending again with the same idempotency key: the request may or may not have been applied.</summary>
    public static bool IsTransient(string outcome) =>
        outcome is Unavailable or DeadlineExceeded or "HTTP_502" or "HTTP_503" or "HTTP_504";

    /// <summary>From a gRPC error: the google.rpc.Status of its grpc-status-details-bin trailer, else its code.</summary>
    public static string FromGrpc(RpcException error) => FromGrpc(error.StatusCode, error.Trailers);

    /// <summary>From a finished call's status code and trailers (no exception needed).</summary>
    public static string FromGrpc(StatusCode code, Metadata trailers) =>
        trailers.GetRpcStatus(ignoreParseError: true)?.GetDetail<ErrorInfo>()?.Reason is { Length: > 0 } reason
            ? reason
            : StatusName(code);

    /// <summary>From a REST error: the google.rpc.Status JSON body the transcoder writes ({code, message, details}).</summary>
    public static string FromRest(HttpStatusCode httpStatus, string body)
    {
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                using var json = JsonDocument.Parse(body);
                var root = json.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    if (root.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var detail in details.EnumerateArray())
                        {
                            if (detail.ValueKind == JsonValueKind.Object
                                && detail.TryGetProperty("@type", out var type) && type.ValueKind == JsonValueKind.String
                                && type.GetString()!.EndsWith(ErrorInfoType, StringComparison.Ordinal)
                                && detail.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String
                                && reason.GetString() is { Length: > 0 } name)
                            {
                                return name;
                            }
                        }
                    }
                    if (root.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.Number
                        && code.TryGetInt32(out var value) && value is > 0 and <= 16)
                    {
                        return StatusName((StatusCode)value);
                    }
                }
            }
            catch (JsonException)
            {
                // Not the transcoder's error body (a proxy's HTML page): the HTTP status is all there is.
            }
        }
        return $"HTTP_{(int)httpStatus}";
    }

    /// <summary>DeadlineExceeded → DEADLINE_EXCEEDED.</summary>
    public static string StatusName(StatusCode code)
    {
        var name = code.ToString();
        if (int.TryParse(name, out _))
        {
            return $"STATUS_{name}";
        }
        if (name == name.ToUpperInvariant())
        {
            return name;
        }
        var text = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                text.Append('_');
            }
            text.Append(char.ToUpperInvariant(name[i]));
        }
        return text.ToString();
    }
}
