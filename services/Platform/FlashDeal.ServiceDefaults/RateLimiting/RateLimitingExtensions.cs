using FlashDeal.Grpc;
using FlashDeal.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FlashDeal.ServiceDefaults.RateLimiting;

public static class RateLimitingExtensions
{
    /// <summary>
    /// The <see cref="ClientAddressResolver"/> for <c>RateLimits:TrustedProxies</c>, whatever <c>RateLimits:Enabled</c>
    /// says: auth's failed-log-in throttle keys callers by it too. Built here, so a bad entry fails start-up.
    /// </summary>
    public static IServiceCollection AddClientAddressResolver(this IServiceCollection services, IConfiguration configuration)
    {
        var trustedProxies = configuration.GetSection(RateLimitOptions.Section)
            .GetSection(nameof(RateLimitOptions.TrustedProxies)).Get<List<string>>();
        services.TryAddSingleton(new ClientAddressResolver(trustedProxies ?? [.. ClientAddressResolver.DefaultTrustedProxies]));
        return services;
    }

    /// <summary>
    /// Per-user / per-address rate limits from the "RateLimits" section, enforced by <see cref="RateLimitInterceptor"/>
    /// right after the auth interceptor. With <c>RateLimits:Enabled=false</c> nothing is registered but the
    /// <see cref="ClientAddressResolver"/> (<see cref="AddClientAddressResolver"/>): no cost per call at all.
    /// </summary>
    public static IServiceCollection AddFlashDealRateLimiting(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        services.AddClientAddressResolver(configuration);
        var section = configuration.GetSection(RateLimitOptions.Section);
        if (!section.GetValue(nameof(RateLimitOptions.Enabled), true))
        {
            return services;
        }
        // Read when first needed, so the service's AddRateLimitPolicies may come after AddServiceDefaults.
        services.TryAddSingleton(sp => Read(section, sp.GetServices<RateLimitPolicyDefaults>()));
        services.TryAddSingleton(sp =>
            new RateLimitDomain(sp.GetRequiredService<RateLimitOptions>().Domain ?? $"{serviceName}.flashdeal.dev"));
        services.TryAddKeyedSingleton(RateLimiter.ClockKey, TimeProvider.System);
        services.TryAddSingleton(sp => new RateLimiter(sp.GetRequiredService<RateLimitOptions>(),
            sp.GetRequiredKeyedService<TimeProvider>(RateLimiter.ClockKey)));
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

    /// <summary>
    /// A service's default policies, named by its [EnableRateLimiting] attributes. <c>RateLimits:Policies:&lt;name&gt;</c>
    /// overrides them field by field, so a service runs with sensible limits whatever configuration files it finds.
    /// </summary>
    public static IServiceCollection AddRateLimitPolicies(this IServiceCollection services,
        IReadOnlyDictionary<string, RateLimitPolicyOptions> policies)
    {
        services.AddSingleton(new RateLimitPolicyDefaults(policies));
        return services;
    }

    /// <summary>The section, with each policy bound field by field over the service's default of the same name.</summary>
    public static RateLimitOptions Read(IConfiguration section, IEnumerable<RateLimitPolicyDefaults> defaults)
    {
        var options = section.Get<RateLimitOptions>() ?? new RateLimitOptions();
        var policies = new Dictionary<string, RateLimitPolicyOptions>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, policy) in defaults.SelectMany(d => d.Policies))
        {
            policies[name] = new RateLimitPolicyOptions
            {
                PermitsPerSecond = policy.PermitsPerSecond,
                Burst = policy.Burst,
                Partition = policy.Partition,
            };
        }
        foreach (var configured in section.GetSection(nameof(RateLimitOptions.Policies)).GetChildren())
        {
            if (!policies.TryGetValue(configured.Key, out var target))
            {
                policies[configured.Key] = target = new RateLimitPolicyOptions();
            }
            configured.Bind(target);
        }
        options.Policies = policies;
        return options;
    }
}

/// <summary>Default policies a service registers with <see cref="RateLimitingExtensions.AddRateLimitPolicies"/>.</summary>
public sealed record RateLimitPolicyDefaults(IReadOnlyDictionary<string, RateLimitPolicyOptions> Policies);
