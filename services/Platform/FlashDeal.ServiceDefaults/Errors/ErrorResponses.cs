using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using ErrorDetailsReflection = Google.Rpc.ErrorDetailsReflection;
using Status = Google.Rpc.Status;
using StatusReflection = Google.Rpc.StatusReflection;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Answers a request with a google.rpc.Status when no gRPC handler runs: refused tokens, rate limits, oversized or
/// unroutable requests. A gRPC caller (content-type application/grpc) gets a trailers-only response (HTTP 200,
/// grpc-status, grpc-message, grpc-status-details-bin), exactly what a handler's RpcException would give; a REST caller
/// gets the HTTP status and the same JSON body JSON transcoding writes for handler errors.
/// </summary>
public static class ErrorResponses
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default
        .WithFormatDefaultValues(true)
        .WithTypeRegistry(TypeRegistry.FromFiles(ErrorDetailsReflection.Descriptor, StatusReflection.Descriptor)));

    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>The REST status of a gRPC code (google.rpc.Code's documented mapping, as JSON transcoding uses it).</summary>
    public static int HttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => 499,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <param name="httpStatus">REST status; defaults to the code's mapping (e.g. 413 for an oversized body).</param>
    /// <param name="retryAfter">Sets Retry-After (whole seconds, at least 1) on REST answers.</param>
    public static Task WriteAsync(HttpContext http, Status status, int? httpStatus = null, TimeSpan? retryAfter = null)
    {
        var response = http.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }
        response.Headers.ContentLength = null;
        if (IsGrpc(http.Request))
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = status.Code.ToString(CultureInfo.InvariantCulture);
            response.Headers["grpc-message"] = PercentEncode(status.Message);
            response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray());
            return Task.CompletedTask;
        }
        response.StatusCode = httpStatus ?? HttpStatus((StatusCode)status.Code);
        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = RetryAfterSeconds(delay).ToString(CultureInfo.InvariantCulture);
        }
        response.ContentType = "application/json; charset=utf-8";
        return response.WriteAsync(Json.Format(status), Encoding.UTF8);
    }

    public static long RetryAfterSeconds(TimeSpan delay) => Math.Max(1, (long)Math.Ceiling(delay.TotalSeconds));

    /// <summary>grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2): printable ASCII except '%' stays as is.</summary>
    public static string PercentEncode(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        if (Array.TrueForAll(bytes, b => b is >= 0x20 and <= 0x7E and not (byte)'%'))
        {
            return message;
        }
        var encoded = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return encoded.ToString();
    }
}
