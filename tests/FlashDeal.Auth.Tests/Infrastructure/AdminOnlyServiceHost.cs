using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Auth.Tests;

/// <summary>
/// Another service wired as every FlashDeal service is (AddServiceDefaults: JwtBearer with the keys of auth's JWKS URL,
/// the admin policy, refusals as google.rpc.Status), with one admin-only RPC: CatalogService.CreateProduct, which
/// answers with the caller's email.
/// </summary>
public sealed class AdminOnlyServiceHost : IAsyncDisposable
{
    private readonly ServiceTestHost _host;
    private readonly CatalogService.CatalogServiceClient _client;

    private AdminOnlyServiceHost(ServiceTestHost host)
    {
        _host = host;
        _client = new CatalogService.CatalogServiceClient(host.Grpc);
    }

    public static async Task<AdminOnlyServiceHost> StartAsync(Uri jwksUrl) =>
        new(await ServiceTestHost.StartAsync(Build,
            new Dictionary<string, string?> { ["Auth:JwksUrl"] = jwksUrl.ToString() }));

    public async Task<CreateProductResponse> CreateProductAsync(string accessToken)
    {
        using var call = _client.CreateProductAsync(
            new CreateProductRequest { Product = new Product { Name = "Probe" } }, AuthClient.Options(accessToken));
        return await call;
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("admin-only");
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGrpcService<AdminOnlyCatalog>();
        return app;
    }
}

public sealed class AdminOnlyCatalog : CatalogService.CatalogServiceBase
{
    [Authorize(Policy = AuthPolicies.Admin)]
    public override Task<CreateProductResponse> CreateProduct(CreateProductRequest request,
        ServerCallContext context) =>
        Task.FromResult(new CreateProductResponse
        {
            Product = new Product { ProductId = "p-1", Name = context.RequireAdmin().Email },
        });
}
