using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FlashDeal.Grpc;

public static class GrpcReflectionExtensions
{
    /// <summary>Registers server reflection over every mapped service (for grpcurl, buf curl, Postman).</summary>
    public static IServiceCollection AddGrpcReflection(this IServiceCollection services,
        Action<GrpcReflectionOptions>? configure = null)
    {
        services.AddOptions<GrpcReflectionOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton<ServerReflectionHandler>();
        return services;
    }

    /// <summary>Maps grpc.reflection.v1.ServerReflection and its v1alpha twin.</summary>
    public static IEndpointConventionBuilder MapGrpcReflectionService(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGrpcService<ServerReflectionServiceV1>();
        var v1Alpha = endpoints.MapGrpcService<ServerReflectionServiceV1Alpha>();
        return new ConventionBuilderPair(v1, v1Alpha);
    }

    private sealed class ConventionBuilderPair(IEndpointConventionBuilder first, IEndpointConventionBuilder second)
        : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            first.Add(convention);
            second.Add(convention);
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            first.Finally(finallyConvention);
            second.Finally(finallyConvention);
        }
    }
}
