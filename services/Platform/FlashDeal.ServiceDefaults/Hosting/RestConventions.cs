using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// What REST callers get where no handler runs, always as a google.rpc.Status JSON body: 413 RESOURCE_EXHAUSTED for a
/// body above the limit (announced by Content-Length, or found while reading a chunked one), and for an empty error
/// answer of the framework (404 no such route, 405 wrong method, 415 …) a JSON body with the matching code.
/// </summary>
public static class RestConventions
{
    public static IApplicationBuilder UseRestConventions(this IApplicationBuilder app, long maxRequestBodySize)
    {
        // gRPC calls pass straight through (no async frame of their own on the hot path).
        app.Use((http, next) => ErrorResponses.IsGrpc(http.Request) ? next(http) : RestAsync(http, next, maxRequestBodySize));
        return app;
    }

    private static async Task RestAsync(HttpContext http, RequestDelegate next, long maxRequestBodySize)
    {
        if (http.Request.ContentLength > maxRequestBodySize)
        {
            await ErrorResponses.WriteAsync(http, TooLarge(maxRequestBodySize), StatusCodes.Status413PayloadTooLarge);
            return;
        }
        // A chunked body is cut off by Kestrel while it is read; the handler then fails with BadHttpRequestException.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxRequestBodySize;
        }
        try
        {
            await next(http);
        }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted)
        {
            await ErrorResponses.WriteAsync(http, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? TooLarge(maxRequestBodySize)
                : RpcErrors.Status(StatusCode.InvalidArgument, "The request could not be read: " + e.Message), e.StatusCode);
            return;
        }
        if (http.Response is { HasStarted: false, StatusCode: >= 400 } response && response.ContentLength is null or 0
            && response.ContentType is null)
        {
            await ErrorResponses.WriteAsync(http, FrameworkError(response.StatusCode, http.Request), response.StatusCode);
        }
    }

    private static Google.Rpc.Status TooLarge(long max) =>
        RpcErrors.Status(StatusCode.ResourceExhausted, $"The request body is larger than {max} bytes.");

    private static Google.Rpc.Status FrameworkError(int httpStatus, HttpRequest request) => httpStatus switch
    {
        StatusCodes.Status404NotFound => RpcErrors.Status(StatusCode.NotFound, $"No route for {request.Method} {request.Path}."),
        StatusCodes.Status405MethodNotAllowed => RpcErrors.Status(StatusCode.Unimplemented,
            $"{request.Method} is not allowed on {request.Path}."),
        StatusCodes.Status415UnsupportedMediaType => RpcErrors.Status(StatusCode.InvalidArgument,
            "The request body must be application/json."),
        StatusCodes.Status413PayloadTooLarge => RpcErrors.Status(StatusCode.ResourceExhausted, "The request body is too large."),
        _ => RpcErrors.Status(StatusCode.Unknown, $"HTTP {httpStatus}."),
    };
}
