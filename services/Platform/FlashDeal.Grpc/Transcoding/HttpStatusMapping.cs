using Microsoft.AspNetCore.Http;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>The standard google.rpc.Code → HTTP status mapping used for transcoded calls.</summary>
public static class HttpStatusMapping
{
    /// <summary>Client closed request (nginx's code; what google.rpc.Code documents for CANCELLED).</summary>
    public const int ClientClosedRequest = 499;

    public static int ToHttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => ClientClosedRequest,
        StatusCode.Unknown => StatusCodes.Status500InternalServerError,
        StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.FailedPrecondition => StatusCodes.Status400BadRequest,
        StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Internal => StatusCodes.Status500InternalServerError,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DataLoss => StatusCodes.Status500InternalServerError,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        _ => StatusCodes.Status500InternalServerError,
    };
}

/// <summary>Lets a handler (or interceptor) choose the HTTP status of a transcoded call.</summary>
public static class TranscodingServerCallContextExtensions
{
    private static readonly object HttpStatusOverrideKey = new();

    /// <summary>
    /// Sets the HTTP status a REST caller receives instead of the mapped one: e.g. 201 for a create, or 409 / 422 for a
    /// FAILED_PRECONDITION with a specific reason. A status below 400 applies when the call succeeds, 400 and above when
    /// it fails. The gRPC status is unchanged, and gRPC callers never see it.
    /// </summary>
    public static void SetHttpStatusOverride(this ServerCallContext context, int statusCode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 200);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        context.UserState[HttpStatusOverrideKey] = statusCode;
    }

    public static int? GetHttpStatusOverride(this ServerCallContext context) =>
        context.UserState.TryGetValue(HttpStatusOverrideKey, out var value) ? value as int? : null;

    internal static int SuccessStatus(this ServerCallContext context) =>
        context.GetHttpStatusOverride() is { } code and < 400 ? code : StatusCodes.Status200OK;

    internal static int ErrorStatus(this ServerCallContext context, StatusCode code) =>
        context.GetHttpStatusOverride() is { } http and >= 400 ? http : HttpStatusMapping.ToHttpStatus(code);
}
