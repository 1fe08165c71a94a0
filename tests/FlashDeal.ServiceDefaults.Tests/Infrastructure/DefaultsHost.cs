using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.ServiceDefaults.Tests;

/// <summary>
/// A minimal service on the shared defaults (AddServiceDefaults, MapDefaultEndpoints: forwarded headers, REST
/// conventions, JwtBearer, authorization, rate limits, health) with a few endpoints that show what they do, on real
/// Kestrel listeners on loopback. Tokens are minted with a local key the host trusts.
/// </summary>
public sealed class DefaultsHost : IAsyncDisposable
{
    /// <summary>
    /// The buckets refill once every 1000 s, so a refusal stays a refusal however slow a busy machine runs the test;
    /// "test-refill" refills once a second, for the one test that waits for it.
    /// </summary>
    public static readonly Dictionary<string, RateLimitPolicyOptions> Policies = new()
    {
        ["test-user"] = new() { PermitsPerSecond = 0.001, Burst = 2 },
        ["test-address"] = new() { PermitsPerSecond = 0.001, Burst = 2, Partition = RateLimitPartition.Address },
        ["test-refill"] = new() { PermitsPerSecond = 1, Burst = 2 },
    };

    private static readonly SigningKey Key = SigningKey.Generate("defaults-test");
    private static readonly AuthOptions Auth = new() { Issuer = "https://auth.test", Audience = "flashdeal-test" };
    private readonly WebApplication _app;

    private DefaultsHost(WebApplication app, Uri grpc, Uri rest)
    {
        _app = app;
        GrpcAddress = grpc;
        Http = new HttpClient { BaseAddress = rest, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri GrpcAddress { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public static string Token(string userId, Role role = Role.Customer) =>
        new AccessTokenIssuer(new SigningKeySet([Key], Key.KeyId), Auth).Issue(userId, "", role).Token;

    /// <param name="unknownPolicy">Also maps an endpoint limited by this policy name, which no configuration defines.</param>
    /// <param name="configure">More services (after the defaults).</param>
    /// <param name="map">More endpoints.</param>
    public static async Task<DefaultsHost> StartAsync(Dictionary<string, string?>? settings = null, string? unknownPolicy = null,
        Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder(["--environment", "Development"]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Service:BindAddress"] = "127.0.0.1",
            ["Service:GrpcPort"] = "0",
            ["Service:RestPort"] = "0",
            ["Service:MaxRequestBodySize"] = "1024",
            ["Auth:Issuer"] = Auth.Issuer,
            ["Auth:Audience"] = Auth.Audience,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.AddServiceDefaults("defaults-test");
        builder.Services.UseLocalSigningKeys(_ => [Key]);
        builder.Services.AddRateLimitPolicies(Policies);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGet("/v1/whoami", (HttpContext http) => ClientAddress.Key(ClientAddress.Of(http)));
        app.MapGet("/v1/things/{id}", (string id) => id);
        app.MapGet("/v1/limited/user", () => "ok").RequireRateLimiting("test-user");
        app.MapGet("/v1/limited/address", () => "ok").RequireRateLimiting("test-address");
        app.MapGet("/v1/limited/refill", () => "ok").RequireRateLimiting("test-refill");
        app.MapGet("/v1/limited/domain", () => "ok").RequireRateLimiting("test-user")
            .WithMetadata(new ErrorDomainAttribute("things.flashdeal.dev"));
        app.MapGet("/v1/admin", () => "ok").RequireAuthorization(AuthPolicies.Admin);
        app.MapPost("/v1/echo", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            return (await reader.ReadToEndAsync()).Length;
        });
        app.MapPost("/flashdeal.test.v1.Probe/Call", () => Results.Ok()).RequireAuthorization();
        map?.Invoke(app);
        if (unknownPolicy is not null)
        {
            app.MapGet("/v1/limited/unknown", () => "ok").RequireRateLimiting(unknownPolicy);
        }
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a)).ToArray();
        return new DefaultsHost(app, addresses[0], addresses[1]);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
