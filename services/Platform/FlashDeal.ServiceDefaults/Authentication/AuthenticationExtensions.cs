using System.Diagnostics.Metrics;
using FlashDeal.Security;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Token validation on every service with ASP.NET Core's JwtBearer: ES256 access tokens from auth, keys from auth's
/// JWKS (JWKS-only configuration, cached and refreshed by IdentityModel), <see cref="AccessTokenHandler"/> as the token
/// handler. [Authorize] / [Authorize(Policy = AuthPolicies.Admin)] / [AllowAnonymous] on the service class and its
/// methods decide who may call; refusals are answered as google.rpc.Status over gRPC and REST (<see cref="AuthErrors"/>).
/// </summary>
public static class AuthenticationExtensions
{
    public static IServiceCollection AddFlashDealAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>()
            .Bind(configuration.GetSection(AuthOptions.SectionName))
            .Validate(o => !string.IsNullOrEmpty(o.Issuer) && !string.IsNullOrEmpty(o.Audience),
                "Auth:Issuer and Auth:Audience are required.")
            .Validate(o => o.AccessTokenLifetime > TimeSpan.Zero && o.ClockSkew >= TimeSpan.Zero,
                "Auth:AccessTokenLifetime must be positive and Auth:ClockSkew not negative.")
            .Validate(o => o.MaxTokenLength is >= 256 and <= 65536, "Auth:MaxTokenLength must be 256 to 65536.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new AccessTokenHandler(sp.GetRequiredService<IOptions<AuthOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<TokenRejections>();
        // The keys validators trust: auth's JWKS over HTTP. The auth service replaces this with its own key set.
        services.TryAddSingleton<IConfigurationManager<OpenIdConnectConfiguration>>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AuthOptions>>().Value;
            var retriever = new HttpDocumentRetriever(new HttpClient { Timeout = options.JwksFetchTimeout })
            {
                RequireHttps = options.JwksUrl.Scheme == Uri.UriSchemeHttps,
            };
            var minRefresh = Max(options.JwksMinRefreshInterval, BaseConfigurationManager.MinimumRefreshInterval);
            return new JwksConfigurationManager(() => new ConfigurationManager<OpenIdConnectConfiguration>(
                options.JwksUrl.ToString(), new JwksRetriever(), retriever)
            {
                AutomaticRefreshInterval = Max(options.JwksRefreshInterval,
                    BaseConfigurationManager.MinimumAutomaticRefreshInterval),
                RefreshInterval = minRefresh,
            }, minRefresh, sp.GetRequiredService<TimeProvider>());
        });

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IServiceProvider>((jwt, sp) => Configure(jwt, sp));
        services.AddAuthorizationBuilder()
            .AddPolicy(AuthPolicies.Admin, policy => policy.RequireAuthenticatedUser().RequireRole(Roles.Admin));
        return services;
    }

    private static void Configure(JwtBearerOptions jwt, IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<AuthOptions>>().Value;
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = AccessTokenHandler.Parameters(options, services.GetRequiredService<TimeProvider>());
        jwt.TokenHandlers.Clear();
        jwt.TokenHandlers.Add(services.GetRequiredService<AccessTokenHandler>());
        jwt.ConfigurationManager = services.GetRequiredService<IConfigurationManager<OpenIdConnectConfiguration>>();
        // A token naming a kid the cached set lacks (a rotation) waits for a fresh JWKS and is validated again
        // (AccessTokenHandler with JwksConfigurationManager); this asks the library for its background refresh as well.
        jwt.RefreshOnIssuerKeyNotFound = true;
        jwt.IncludeErrorDetails = false;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("FlashDeal.Authentication");
        var rejections = services.GetRequiredService<TokenRejections>();
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                // Another scheme (Basic …) or "Bearer" without a token is a malformed credential, not a missing one.
                var header = context.Request.Headers.Authorization.ToString();
                if (header.Length > 0 && (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                                          || header.AsSpan(7).Trim().IsEmpty))
                {
                    context.Fail(new SecurityTokenMalformedException("Expected 'authorization: Bearer <token>'."));
                }
                return Task.CompletedTask;
            },
            OnAuthenticationFailed = context =>
            {
                // The kind of failure only: a token is a credential and never goes to a log.
                logger.LogDebug("Refused access token on {Path}: {Failure}", context.Request.Path,
                    context.Exception.GetType().Name);
                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var status = AuthErrors.Unauthenticated(context.AuthenticateFailure);
                rejections.Count(status);
                if (status.Code == (int)Grpc.Core.StatusCode.Unauthenticated && !ErrorResponses.IsGrpc(context.Request))
                {
                    context.Response.Headers.WWWAuthenticate = context.AuthenticateFailure is null
                        ? "Bearer"
                        : "Bearer error=\"invalid_token\"";
                }
                await ErrorResponses.WriteAsync(context.HttpContext, status);
            },
            OnForbidden = context =>
            {
                var policy = context.HttpContext.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>()
                    .Any(a => a.Policy == AuthPolicies.Admin || a.Roles?.Contains(Roles.Admin) == true) == true;
                return ErrorResponses.WriteAsync(context.HttpContext,
                    policy ? AuthErrors.AdminRoleRequired() : AuthErrors.PermissionDenied());
            },
        };
    }

    /// <summary>
    /// The auth service validates with the keys it signs with: no HTTP round trip to its own JWKS, and a rotation there
    /// is seen at once. Call after <see cref="AddFlashDealAuthentication"/>.
    /// </summary>
    public static IServiceCollection UseLocalSigningKeys(this IServiceCollection services, Func<IServiceProvider, IEnumerable<SigningKey>> keys)
    {
        services.Replace(ServiceDescriptor.Singleton<IConfigurationManager<OpenIdConnectConfiguration>>(sp =>
            new StaticConfigurationManager<OpenIdConnectConfiguration>(JwksRetriever.FromKeys(keys(sp)))));
        return services;
    }

    /// <summary>As above, with keys that change while the service runs (the auth service's hot-reloaded key directory).</summary>
    public static IServiceCollection UseLocalSigningKeys(this IServiceCollection services, Func<IServiceProvider, ISigningKeySource> keys)
    {
        services.Replace(ServiceDescriptor.Singleton<IConfigurationManager<OpenIdConnectConfiguration>>(sp =>
            new LocalKeysConfigurationManager(keys(sp))));
        return services;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
