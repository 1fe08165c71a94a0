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
/// answers with the caller's email, and one for any signed-in caller: GetProduct, which answers with the caller's id.
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

    public static async Task<AdminOnlyServiceHost> StartAsync(Uri jwksUrl,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["Auth:JwksUrl"] = jwksUrl.ToString() };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        return new(await ServiceTestHost.StartAsync(Build, all));
    }

    /// <summary>GetProduct with this token: the caller's user id, or the refusal as RpcException.</summary>
    public async Task<string> WhoAmIAsync(string accessToken)
    {
        using var call = _client.GetProductAsync(new GetProductRequest { ProductId = "p-1" }, AuthClient.Options(accessToken));
        return (await call).Product.Name;
    }

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

    [Authorize]
    public override Task<GetProductResponse> GetProduct(GetProductRequest request, ServerCallContext context) =>
        Task.FromResult(new GetProductResponse
        {
            Product = new Product { ProductId = request.ProductId, Name = context.RequireUser().UserId },
        });
}
