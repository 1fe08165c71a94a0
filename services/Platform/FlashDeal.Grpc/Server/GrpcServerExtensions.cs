using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FlashDeal.Grpc;

/// <summary>Lets other parts (JSON transcoding) add endpoints for every mapped method.</summary>
public interface IServiceEndpointContributor
{
    void Contribute(IEndpointRouteBuilder endpoints, ServiceModel service, IList<IEndpointConventionBuilder> builders);
}

public sealed class GrpcServerBuilder(IServiceCollection services)
{
    public IServiceCollection Services { get; } = services;
}

public static class GrpcServerExtensions
{
    /// <summary>Registers the gRPC server runtime (call handling, codecs, registry).</summary>
    public static GrpcServerBuilder AddGrpc(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton<GrpcServiceRegistry>();
        services.TryAddSingleton<GrpcServerRuntime>();
        services.AddRouting();
        return new GrpcServerBuilder(services);
    }

    /// <summary>
    /// Maps every RPC of the protobuf service that <typeparamref name="TService"/> implements (named by its
    /// [GrpcService] attribute) as "POST /package.Service/Method", plus its REST routes when transcoding is on.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcService<TService>(this IEndpointRouteBuilder endpoints)
        where TService : class
    {
        var registry = endpoints.ServiceProvider.GetRequiredService<GrpcServiceRegistry>();
        var runtime = endpoints.ServiceProvider.GetRequiredService<GrpcServerRuntime>();
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<GrpcServerOptions>>().Value;
        var model = GrpcServiceRegistry.Build(typeof(TService), options.Interceptors);
        registry.Add(model);

        var builders = new List<IEndpointConventionBuilder>();
        foreach (var method in model.Methods)
        {
            var m = method;
            builders.Add(endpoints
                .MapPost(m.FullName, (HttpContext http) => m.HandleGrpcAsync(http, runtime))
                .WithDisplayName($"gRPC {m.FullName}")
                .WithMetadata(m));
        }
        foreach (var contributor in endpoints.ServiceProvider.GetServices<IServiceEndpointContributor>())
        {
            contributor.Contribute(endpoints, model, builders);
        }
        if (registry.TryClaimFallback())
        {
            MapUnimplementedFallback(endpoints, registry);
        }
        return new CompositeConventionBuilder(builders);
    }

    /// <summary>Any other gRPC path answers UNIMPLEMENTED, as the spec asks; non-gRPC requests get a plain 404.</summary>
    private static void MapUnimplementedFallback(IEndpointRouteBuilder endpoints, GrpcServiceRegistry registry)
    {
        endpoints.MapPost("/{unknownService}/{unknownMethod}", (HttpContext http) =>
        {
            if (!GrpcProtocol.IsGrpcContentType(http.Request.ContentType))
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            var service = (string)http.Request.RouteValues["unknownService"]!;
            var known = registry.Services.Any(s => s.Descriptor.FullName == service);
            http.Response.ContentType = GrpcProtocol.ContentType;
            http.Response.Headers[GrpcProtocol.StatusHeader] = ((int)StatusCode.Unimplemented).ToString();
            http.Response.Headers[GrpcProtocol.MessageHeader] = Status.EncodeMessage(known
                ? $"Method is unimplemented: {http.Request.Path}"
                : $"Service is unimplemented: {service}");
            return Task.CompletedTask;
        }).WithDisplayName("gRPC unimplemented").WithOrder(int.MaxValue);
    }

    private sealed class CompositeConventionBuilder(List<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders)
            {
                builder.Finally(finallyConvention);
            }
        }
    }
}
