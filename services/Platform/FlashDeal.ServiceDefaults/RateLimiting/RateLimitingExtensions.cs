using FlashDeal.Grpc;
using FlashDeal.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FlashDeal.ServiceDefaults.RateLimiting;

public static class RateLimitingExtensions
{
    /// <summary>
    /// Per-user / per-address rate limits from the "RateLimits" section, enforced by <see cref="RateLimitInterceptor"/>
    /// right after the auth interceptor. With <c>RateLimits:Enabled=false</c> nothing is registered: no cost at all.
    /// </summary>
    public static IServiceCollection AddFlashDealRateLimiting(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        var options = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        if (!options.Enabled)
        {
            return services;
        }
        services.TryAddSingleton(options);
        services.TryAddSingleton(new RateLimitDomain(options.Domain ?? $"{serviceName}.flashdeal.dev"));
        services.TryAddKeyedSingleton(RateLimiter.ClockKey, TimeProvider.System);
        services.TryAddSingleton(sp => new RateLimiter(options, sp.GetRequiredKeyedService<TimeProvider>(RateLimiter.ClockKey)));
        services.TryAddSingleton(new ClientAddressResolver(options.TrustedProxies ?? [.. ClientAddressResolver.DefaultTrustedProxies]));
        services.TryAddSingleton<GrpcServiceRegistry>();
        services.TryAddSingleton<MethodRateLimits>();
        services.TryAddSingleton<RateLimitInterceptor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceEndpointContributor, RateLimitEndpointContributor>());
        // After authentication, whatever order the Add… calls came in: the limiter needs the validated user.
        services.PostConfigure<GrpcServerOptions>(grpc =>
        {
            grpc.Interceptors.Remove(typeof(RateLimitInterceptor));
            var auth = grpc.Interceptors.IndexOf(typeof(AuthInterceptor));
            grpc.Interceptors.Insert(auth < 0 ? grpc.Interceptors.Count : auth + 1, typeof(RateLimitInterceptor));
        });
        return services;
    }
}
