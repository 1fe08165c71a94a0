using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Correlation: a request's X-Request-Id (the edge sets one on every call, a client may send its own) comes back as a
/// response header (gRPC: response metadata), so a caller can quote it and it matches the edge's access log.
/// </summary>
public static class RequestId
{
    public const string Header = "x-request-id";

    /// <summary>Longer or non-printable ids are not echoed (a header is no place for arbitrary client bytes).</summary>
    public const int MaxLength = 128;

    public static IApplicationBuilder UseRequestId(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            var id = http.Request.Headers[Header].ToString();
            if (id.Length is > 0 and <= MaxLength && id.All(c => c is >= '!' and <= '~'))
            {
                http.Response.Headers[Header] = id;
            }
            return next(http);
        });
}
