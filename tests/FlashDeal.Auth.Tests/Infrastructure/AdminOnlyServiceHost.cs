using System.Net;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Grpc;
using FlashDeal.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Tests;

/// <summary>
/// Another service as FlashDeal services are wired: it validates tokens with keys fetched from auth's JWKS URL and has
/// an admin-only RPC.
/// </summary>
public sealed class AdminOnlyServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AdminOnlyServiceHost(WebApplication app, Uri address)
    {
        _app = app;
        Channel = GrpcChannel.ForAddress(address);
    }

    public GrpcChannel Channel { get; }

    public static async Task<AdminOnlyServiceHost> StartAsync(Uri jwksUrl)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Auth:JwksUrl"] = jwksUrl.ToString() });
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddFlashDealAuthentication(builder.Configuration);
        var app = builder.Build();
        app.MapGrpcService<AdminOnlyCatalog>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AdminOnlyServiceHost(app, new Uri(address));
    }

    public Task<CreateProductResponse> CreateProductAsync(string accessToken) =>
        Channel.UnaryAsync(
            Method<CreateProductRequest, CreateProductResponse>.FromDescriptor(
                CatalogReflection.Descriptor.Services[0].FindMethodByName("CreateProduct")),
            new CreateProductRequest { Product = new Product { Name = "Probe" } },
            new CallOptions(new Metadata { { "authorization", "Bearer " + accessToken } }, DateTime.UtcNow.AddSeconds(30)));

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

[GrpcService("flashdeal.catalog.v1.CatalogService")]
public sealed class AdminOnlyCatalog
{
    [Authorize(Roles = Roles.Admin)]
    public Task<CreateProductResponse> CreateProduct(CreateProductRequest request, ServerCallContext context) =>
        Task.FromResult(new CreateProductResponse
        {
            Product = new Product { ProductId = "p-1", Name = context.RequireAdmin().Email },
        });
}
