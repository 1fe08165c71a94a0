using FlashDeal.Grpc.Transcoding;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FlashDeal.Grpc;

public static class JsonTranscodingExtensions
{
    /// <summary>
    /// Serves every RPC that has a google.api.http rule as REST/JSON too: <c>app.MapGrpcService&lt;T&gt;()</c> then maps
    /// its routes, which run the same handler and interceptors as gRPC (see docs/grpc-runtime.md, "JSON transcoding").
    /// </summary>
    public static GrpcServerBuilder AddJsonTranscoding(this GrpcServerBuilder builder,
        Action<JsonTranscodingOptions>? configure = null)
    {
        builder.Services.AddOptions<JsonTranscodingOptions>();
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }
        builder.Services.TryAddSingleton<TranscodingRouteTable>();
        builder.Services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IServiceEndpointContributor, TranscodingEndpointContributor>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, TranscodingMatcherPolicy>());
        return builder;
    }
}
