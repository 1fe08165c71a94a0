using FlashDeal.Catalog.BestSellers;
using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Grpc;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Catalog.Products;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlashDeal.Catalog;

/// <summary>The catalog service's app factory: Program runs it, tests host it with their own settings.</summary>
public static class CatalogApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("catalog");
        builder.Services.AddRateLimitPolicies(CatalogApi.RateLimitPolicies);
        builder.AddServicePostgres(CatalogMigrations.Set).AddServiceRedis();
        builder.Services.AddCatalog(builder.Configuration);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGrpcService<CatalogApi>();
        return app;
    }

    private static void AddCatalog(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CatalogOptions>().Bind(configuration.GetSection(CatalogOptions.Section))
            .Validate(o => o.WatchHeartbeatInterval > TimeSpan.Zero, "Catalog:WatchHeartbeatInterval must be positive.")
            .ValidateOnStart();
        services.AddSingleton(UuidV7Generator.Default);
        services.AddSingleton<RedisGuard>();
        services.AddSingleton<ProtoCache>();

        services.AddSingleton<ProductStore>();
        services.AddSingleton<ProductCache>();
        services.AddSingleton<ProductCatalog>();

        services.AddSingleton<DealStore>();
        services.AddSingleton<DealCache>();
        services.AddSingleton<DealConfigWriter>();
        services.AddSingleton<DealStockReader>();
        services.AddSingleton<HotDeals>();
        services.AddSingleton<HotDealList>();
        services.AddHostedService(sp => sp.GetRequiredService<HotDealList>());
        services.AddSingleton<HotProductPages>();
        services.AddHostedService(sp => sp.GetRequiredService<HotProductPages>());
        services.AddSingleton<DealCatalog>();
        services.AddSingleton<DealWatchHub>();
        services.AddSingleton<DealWarmer>();
        services.AddHostedService(sp => sp.GetRequiredService<DealWarmer>());
        services.AddSingleton<DealOpeningWarmer>();
        services.AddHostedService(sp => sp.GetRequiredService<DealOpeningWarmer>());
        services.AddSingleton<CatalogMetrics>();
        services.AddSingleton<DealStockMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<DealStockMonitor>());

        services.AddSingleton<BestSellers.BestSellers>();
        services.AddSingleton<BestSellerStore>();
        services.AddSingleton<BestSellerRanking>();
        services.AddSingleton<BestSellerBackup>();
        services.AddHostedService(sp => sp.GetRequiredService<BestSellerBackup>());
        services.AddSingleton<PaidOrderConsumer>();
        services.AddHostedService(sp => sp.GetRequiredService<PaidOrderConsumer>());

        services.AddSingleton<CatalogApi>();
        services.AddErrorDetailTypes(CatalogErrorsReflection.Descriptor);
        services.AddGrpcServiceHealth(CatalogService.Descriptor);
        // Reads fall back to PostgreSQL, so Redis being down degrades the catalog but must not take it out of rotation.
        services.Configure<HealthCheckServiceOptions>(o =>
        {
            foreach (var check in o.Registrations.Where(r => r.Name == "redis"))
            {
                check.FailureStatus = HealthStatus.Degraded;
            }
        });
    }
}
