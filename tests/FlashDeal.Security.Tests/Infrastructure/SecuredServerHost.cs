using System.Net;
using System.Security.Cryptography;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Grpc;
using FlashDeal.Grpc.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Security.Tests;

/// <summary>
/// Like EchoServerHost, plus authentication wired the way a service does it (AddFlashDealTokenIssuer +
/// AddFlashDealAuthentication from configuration) and two probe services with [Authorize] requirements.
/// </summary>
public sealed class SecuredServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SecuredServerHost(WebApplication app, Uri grpcAddress)
    {
        _app = app;
        GrpcAddress = grpcAddress;
    }

    public Uri GrpcAddress { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<SecuredServerHost> StartAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = "https://auth.test",
            ["Auth:Audience"] = "flashdeal-test",
            ["Auth:SigningKeys:Keys:0:KeyId"] = "test-key",
            ["Auth:SigningKeys:Keys:0:Pem"] = key.ExportPkcs8PrivateKeyPem(),
        });
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.EnableDetailedErrors = true);
        builder.Services.AddFlashDealAuthentication(builder.Configuration);
        builder.Services.AddFlashDealTokenIssuer(builder.Configuration);

        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        app.MapGrpcService<ProbeAuthService>();
        app.MapGrpcService<ProbeCatalogService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SecuredServerHost(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Method-level [Authorize], an explicit RequireUser() in a handler, and a public method.</summary>
[GrpcService("flashdeal.auth.v1.AuthService")]
public sealed class ProbeAuthService
{
    /// <summary>Answers with what the interceptor recorded, including HttpContext.User's name.</summary>
    [Authorize]
    public Task<GetMeResponse> GetMe(GetMeRequest request, ServerCallContext context)
    {
        var user = context.GetUser()!;
        return Task.FromResult(new GetMeResponse
        {
            User = new User
            {
                UserId = user.UserId,
                Email = user.Email,
                Role = user.Role,
                DisplayName = context.GetHttpContext().User.Identity?.Name ?? "",
            },
        });
    }

    /// <summary>No attribute: the handler decides (here: it needs a user).</summary>
    public Task<LogOutResponse> LogOut(LogOutRequest request, ServerCallContext context)
    {
        context.RequireUser();
        return Task.FromResult(new LogOutResponse());
    }

    public Task<GetJwksResponse> GetJwks(GetJwksRequest request, ServerCallContext context) =>
        Task.FromResult(new GetJwksResponse());
}

/// <summary>Class-level admin requirement, one [AllowAnonymous] method, a streaming method.</summary>
[GrpcService("flashdeal.catalog.v1.CatalogService")]
[Authorize(Roles = Roles.Admin)]
public sealed class ProbeCatalogService
{
    public Task<CreateProductResponse> CreateProduct(CreateProductRequest request, ServerCallContext context) =>
        Task.FromResult(new CreateProductResponse { Product = new Product { ProductId = "p-1", Name = request.Product?.Name ?? "" } });

    [AllowAnonymous]
    public Task<GetProductResponse> GetProduct(GetProductRequest request, ServerCallContext context) =>
        Task.FromResult(new GetProductResponse
        {
            Product = new Product { ProductId = request.ProductId, Name = context.GetUser()?.UserId ?? "anonymous" },
        });

    public async Task WatchDeal(WatchDealRequest request, IServerStreamWriter<WatchDealResponse> responseStream,
        ServerCallContext context)
    {
        await responseStream.WriteAsync(new WatchDealResponse());
    }
}
