using FlashDeal.Grpc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlashDeal.Security;

public static class AuthenticationServiceCollectionExtensions
{
    /// <summary>
    /// Token validation for a service: binds the "Auth" section, caches the auth service's JWKS, and adds
    /// <see cref="AuthInterceptor"/> to the gRPC server so [Authorize] and context.GetUser() work.
    /// </summary>
    public static IServiceCollection AddFlashDealAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        AddOptions(services, configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new JwksCache(Options(sp), time: sp.GetRequiredService<TimeProvider>(),
            logger: sp.GetRequiredService<ILogger<JwksCache>>()));
        services.TryAddSingleton<ISigningKeySource>(sp => sp.GetRequiredService<JwksCache>());
        services.TryAddSingleton(sp => new AccessTokenValidator(sp.GetRequiredService<ISigningKeySource>(), Options(sp),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<GrpcServiceRegistry>();
        services.TryAddSingleton<MethodAuthorizationTable>();
        services.TryAddSingleton<AuthInterceptor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceEndpointContributor, AuthorizationEndpointContributor>());
        services.Configure<GrpcServerOptions>(options =>
        {
            if (!options.Interceptors.Contains(typeof(AuthInterceptor)))
            {
                options.Interceptors.Add(typeof(AuthInterceptor));
            }
        });
        return services;
    }

    /// <summary>
    /// The issuing side (auth service): loads the signing keys, registers <see cref="AccessTokenIssuer"/>, and lets the
    /// validator use those keys directly instead of fetching its own JWKS. Combine with AddFlashDealAuthentication.
    /// </summary>
    public static IServiceCollection AddFlashDealTokenIssuer(this IServiceCollection services, IConfiguration configuration)
    {
        AddOptions(services, configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => SigningKeySet.Load(Options(sp).SigningKeys,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<SigningKeySet>()));
        services.Replace(ServiceDescriptor.Singleton<ISigningKeySource>(sp => sp.GetRequiredService<SigningKeySet>()));
        services.TryAddSingleton(sp => new AccessTokenIssuer(sp.GetRequiredService<SigningKeySet>(), Options(sp),
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    private static void AddOptions(IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(AuthOptionsMarker)))
        {
            return;
        }
        services.AddSingleton<AuthOptionsMarker>();
        services.AddOptions<AuthOptions>()
            .Bind(configuration.GetSection(AuthOptions.SectionName))
            .Validate(o => !string.IsNullOrEmpty(o.Issuer) && !string.IsNullOrEmpty(o.Audience), "Auth:Issuer and Auth:Audience are required.")
            .Validate(o => o.AccessTokenLifetime > TimeSpan.Zero && o.ClockSkew >= TimeSpan.Zero,
                "Auth:AccessTokenLifetime must be positive and Auth:ClockSkew not negative.")
            .ValidateOnStart();
    }

    private static AuthOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<AuthOptions>>().Value;

    private sealed class AuthOptionsMarker;
}
