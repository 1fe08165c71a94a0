using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// RED per RPC for both transports (flashdeal.rpc.server.duration): every call routed to an API method, whatever
/// answered it — the handler, authentication, a rate limit, the body-size check. Labels: <c>rpc_method</c>
/// ("flashdeal.orders.v1.OrderService/PlaceOrder"), <c>transport</c> (grpc, rest), <c>code</c> (the gRPC status name;
/// for REST the handler's own code, else the HTTP status mapped back) and <c>outcome</c>: <c>ok</c>,
/// <c>refused</c> (the caller's problem or a business refusal: SOLD_OUT, INVALID_ARGUMENT, UNAUTHENTICATED,
/// RESOURCE_EXHAUSTED …) or <c>fault</c> (the server's: UNKNOWN, INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, DATA_LOSS,
/// UNIMPLEMENTED), which is what error budgets count. Requests that reach no API method (health, /metrics, 404s) are
/// not recorded here (http.server.request.duration has them).
/// </summary>
public sealed class RpcMetrics
{
    private static readonly double[] Buckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Histogram<double> _duration;

    /// <summary>"pkg.Service/Method" by the framework's "/pkg.Service/Method": computed once per method, not per call.</summary>
    private readonly ConcurrentDictionary<string, string> _methodNames = new(StringComparer.Ordinal);

    public RpcMetrics(IMeterFactory meters)
    {
        _duration = meters.Create("FlashDeal.Rpc").CreateHistogram(FlashDealMetrics.RpcServerDuration, "s",
            "Calls of the APIs by method, transport, status code and outcome (ok, refused, fault).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });
    }

    private static readonly object StatusKey = new();

    /// <summary>Records the code a handler's call ended with (REST: the HTTP status alone is ambiguous).</summary>
    public static void SetStatus(HttpContext http, StatusCode code)
    {
        if (!ErrorResponses.IsGrpc(http.Request))
        {
            http.Items[StatusKey] = code;
        }
    }

    public RequestDelegate Middleware(RequestDelegate next) => async http =>
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(http).ConfigureAwait(false);
        }
        finally
        {
            if (http.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } method)
            {
                Record(http, method, Stopwatch.GetElapsedTime(started));
            }
        }
    };

    private void Record(HttpContext http, GrpcMethodMetadata method, TimeSpan elapsed)
    {
        var grpc = ErrorResponses.IsGrpc(http.Request);
        var code = grpc ? GrpcStatus(http)
            : http.Items.TryGetValue(StatusKey, out var ended) && ended is StatusCode handler ? handler
            : RestStatus(http.Response.StatusCode);
        if (http.RequestAborted.IsCancellationRequested && code == StatusCode.OK)
        {
            code = StatusCode.Cancelled;
        }
        _duration.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("rpc_method",
                _methodNames.GetOrAdd(method.Method.FullName, static name => name.TrimStart('/'))),
            new KeyValuePair<string, object?>("transport", grpc ? "grpc" : "rest"),
            new KeyValuePair<string, object?>("code", CodeName(code)),
            new KeyValuePair<string, object?>("outcome", Outcome(code)));
    }

    public static string Outcome(StatusCode code) => code switch
    {
        StatusCode.OK => "ok",
        StatusCode.Unknown or StatusCode.Internal or StatusCode.Unavailable or StatusCode.DeadlineExceeded
            or StatusCode.DataLoss or StatusCode.Unimplemented => "fault",
        _ => "refused",
    };

    /// <summary>grpc-status from the trailers, or from the headers of a trailers-only answer; a reset call is CANCELLED.</summary>
    private static StatusCode GrpcStatus(HttpContext http)
    {
        var value = http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers["grpc-status"] is { Count: > 0 } trailer
            ? trailer.ToString()
            : http.Response.Headers["grpc-status"].ToString();
        return int.TryParse(value, out var number) && number is >= 0 and <= 16 ? (StatusCode)number : StatusCode.Cancelled;
    }

    /// <summary>The code an HTTP status came from (ErrorResponses.HttpStatus; 400 stands for INVALID_ARGUMENT and
    /// FAILED_PRECONDITION alike, both refusals).</summary>
    private static StatusCode RestStatus(int status) => status switch
    {
        >= 200 and < 300 => StatusCode.OK,
        400 or 413 or 415 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.NotFound,
        409 => StatusCode.Aborted,
        429 => StatusCode.ResourceExhausted,
        499 => StatusCode.Cancelled,
        501 => StatusCode.Unimplemented,
        503 => StatusCode.Unavailable,
        504 => StatusCode.DeadlineExceeded,
        _ => StatusCode.Unknown,
    };

    private static readonly string[] Names = Enumerable.Range(0, 17).Select(i => ToName((StatusCode)i)).ToArray();

    private static string CodeName(StatusCode code) => Names[(int)code];

    private static string ToName(StatusCode code) => code == StatusCode.OK ? "OK" :
        string.Concat(code.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();
}

public static class RpcMetricsExtensions
{
    /// <summary>Records every API call (first in the pipeline, so refusals by middleware count too).</summary>
    public static IApplicationBuilder UseRpcMetrics(this IApplicationBuilder app) =>
        app.Use(((RpcMetrics)app.ApplicationServices.GetService(typeof(RpcMetrics))!).Middleware);
}
