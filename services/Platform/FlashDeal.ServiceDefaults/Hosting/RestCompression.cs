using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// HTTP compression of REST answers (JSON transcoding, health, /metrics) on ASP.NET Core's ResponseCompression
/// middleware: brotli or gzip as the request's Accept-Encoding asks (brotli when both are equally welcome), with
/// <c>Vary: Accept-Encoding</c>, for bodies of <c>Service:ResponseCompressionMinSize</c> bytes or more only. The
/// middleware has no size threshold, so <see cref="CompressionGate"/> holds a body's first bytes until the threshold is
/// reached (then compression starts) or the body ends below it (then it goes out as it is, with a Content-Length).
/// Never entered: gRPC calls (gRPC compresses their messages per call: ServiceInterceptor), server streams (a
/// <c>:watch</c> NDJSON stream must flow line by line), requests that accept no encoding (nothing to decide).
/// </summary>
public static class RestCompression
{
    public static IServiceCollection AddRestCompression(this IServiceCollection services, ServiceOptions options)
    {
        if (!IsEnabled(options))
        {
            return services;
        }
        services.AddResponseCompression(o =>
        {
            // Listed in order of preference: on equal q-values the first one wins.
            o.Providers.Add<BrotliCompressionProvider>();
            o.Providers.Add<GzipCompressionProvider>();
            // Prometheus asks for OpenMetrics (and gzip) when it scrapes /metrics.
            o.MimeTypes = [.. ResponseCompressionDefaults.MimeTypes, "application/openmetrics-text"];
        });
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = options.RestCompressionLevel);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = options.RestCompressionLevel);
        services.Replace(ServiceDescriptor.Singleton<IResponseCompressionProvider>(provider => new SizeGatedProvider(
            new ResponseCompressionProvider(provider, provider.GetRequiredService<IOptions<ResponseCompressionOptions>>()),
            options.ResponseCompressionMinSize)));
        return services;
    }

    /// <summary>After routing: a server stream is told apart by its endpoint.</summary>
    public static IApplicationBuilder UseRestCompression(this IApplicationBuilder app, ServiceOptions options)
    {
        if (!IsEnabled(options))
        {
            return app;
        }
        var threshold = options.ResponseCompressionMinSize;
        return app.UseWhen(http => http.Request.Headers.AcceptEncoding.Count > 0 && !ErrorResponses.IsGrpc(http.Request)
            && !IsServerStream(http), branch =>
        {
            branch.UseResponseCompression();
            branch.Use((http, next) => CompressionGate.RunAsync(http, next, threshold));
        });
    }

    private static bool IsEnabled(ServiceOptions options) =>
        options.RestResponseCompression && options.ResponseCompressionMinSize > 0;

    private static bool IsServerStream(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>()?.MethodDescriptor.IsServerStreaming == true;

    /// <summary>
    /// The framework's choice (MIME type, Accept-Encoding, provider), except for a body known to be under the threshold:
    /// its Content-Length is set by the app or by <see cref="CompressionGate"/> when the body ended below it.
    /// </summary>
    private sealed class SizeGatedProvider(IResponseCompressionProvider inner, int minSize) : IResponseCompressionProvider
    {
        public ICompressionProvider? GetCompressionProvider(HttpContext context) => inner.GetCompressionProvider(context);

        public bool ShouldCompressResponse(HttpContext context) =>
            (context.Response.ContentLength is null || context.Response.ContentLength >= minSize)
            && inner.ShouldCompressResponse(context);

        public bool CheckRequestAcceptsCompression(HttpContext context) => inner.CheckRequestAcceptsCompression(context);
    }
}
