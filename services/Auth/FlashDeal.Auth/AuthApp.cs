using FlashDeal.Auth.Accounts;
using FlashDeal.Auth.Grpc;
using FlashDeal.Auth.Infrastructure;
using FlashDeal.Auth.Keys;
using FlashDeal.Auth.Sessions;
using FlashDeal.Auth.Throttling;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.Extensions.Options;

namespace FlashDeal.Auth;

/// <summary>The auth service: accounts, passwords, access and refresh tokens, JWKS (docs/auth.md).</summary>
public static class AuthApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("auth");
        builder.Services.AddRateLimitPolicies(AuthApi.RateLimitPolicies);
        builder.AddServicePostgres(AuthMigrations.Set).AddServiceRedis();
        builder.Services.AddTokenIssuer();
        builder.Services.AddAuthService(builder.Configuration);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGrpcService<AuthApi>();
        app.MapGet("/.well-known/openid-configuration", OpenIdConfiguration.Write);
        return app;
    }

    /// <summary>
    /// The issuing side: the signing keys (Auth:SigningKeys), rotated in two phases and reloaded while running
    /// (<see cref="SigningKeyRotation"/>), and <see cref="AccessTokenIssuer"/>; this service validates tokens with the same
    /// keys instead of fetching its own JWKS. Registered after AddServicePostgres: the rotation's start reads
    /// auth.signing_keys, which MigrateOnStart creates.
    /// </summary>
    private static IServiceCollection AddTokenIssuer(this IServiceCollection services)
    {
        services.AddSingleton<SigningKeyQueries>();
        services.AddSingleton<SigningKeyRotation>();
        services.AddSingleton<ISigningKeySource>(sp => sp.GetRequiredService<SigningKeyRotation>());
        services.AddHostedService(sp => sp.GetRequiredService<SigningKeyRotation>());
        services.AddSingleton(sp => new AccessTokenIssuer(sp.GetRequiredService<ISigningKeySource>(),
            sp.GetRequiredService<IOptions<AuthOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.UseLocalSigningKeys(sp => sp.GetRequiredService<ISigningKeySource>());
        services.AddErrorDetailTypes(AuthErrorsReflection.Descriptor);
        services.AddGrpcServiceHealth(AuthService.Descriptor);
        return services;
    }

    private static IServiceCollection AddAuthService(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthServiceOptions>()
            .Bind(configuration.GetSection(AuthServiceOptions.Section))
            .Validate(o => o.Passwords.Iterations is >= 1 and <= PasswordHasher.MaxIterations,
                $"Auth:Passwords:Iterations must be between 1 and {PasswordHasher.MaxIterations}.")
            .Validate(o => o.Passwords is { MaxConcurrent: >= 0, MaxQueued: >= 0 } && o.Passwords.MaxWait >= TimeSpan.Zero,
                "Auth:Passwords:MaxConcurrent and MaxQueued must be 0 or more, MaxWait not negative.")
            .Validate(o => o.RefreshTokenLifetime > TimeSpan.Zero, "Auth:RefreshTokenLifetime must be positive.")
            .Validate(o => o.LogInThrottle is { MaxFailuresPerAccount: > 0, MaxFailuresPerAddress: > 0 }
                           && o.LogInThrottle.Window >= TimeSpan.FromSeconds(1),
                "Auth:LogInThrottle limits must be positive and its Window at least one second.")
            .ValidateOnStart();
        services.AddSingleton(sp => new PasswordHasher(sp.GetRequiredService<IOptions<AuthServiceOptions>>().Value.Passwords));
        services.AddSingleton(sp => new PasswordWork(sp.GetRequiredService<IOptions<AuthServiceOptions>>().Value.Passwords));
        services.AddSingleton<UserQueries>();
        services.AddSingleton<RefreshTokenQueries>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<RefreshTokenService>();
        services.AddSingleton<LogInThrottle>();
        services.AddSingleton<AdminBootstrap>();
        // After MigrateOnStart (registered by AddServicePostgres): hosted services start in registration order.
        services.AddHostedService(sp => sp.GetRequiredService<AdminBootstrap>());
        return services;
    }
}
