using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Data;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Events;
using FlashDeal.Orders.Grpc;
using FlashDeal.Orders.Lifecycle;
using FlashDeal.Orders.Payments;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Placement;
using FlashDeal.Orders.Redis;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace FlashDeal.Orders;

/// <summary>The orders service: the app factory used by Program and by tests (ServiceTestHost).</summary>
public static class OrdersApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("orders");
        builder.Services.AddRateLimitPolicies(OrderApi.RateLimitPolicies);
        builder.Services.AddRateLimitPolicies(CouponApi.RateLimitPolicies);
        builder.AddServicePostgres(OrdersMigrations.Set).AddServiceRedis();
        builder.Services.AddOrders(builder.Configuration);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGrpcService<OrderApi>();
        app.MapGrpcService<CouponApi>();
        app.MapGet("/healthz/order-stream", (OrderStreamStatus status) => Results.Json(status.ToData()));
        return app;
    }

    public static IServiceCollection AddOrders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OrdersOptions>().Bind(configuration.GetSection(OrdersOptions.Section))
            .Validate(o => o.PayWindow > TimeSpan.Zero && o.MaxQuantity >= 1 && o.PaymentLock > o.PaymentTimeout,
                "Orders: PayWindow must be positive, MaxQuantity ≥ 1, PaymentLock longer than PaymentTimeout.")
            .Validate(o => o.PaymentReconcileInterval > TimeSpan.Zero, "Orders: PaymentReconcileInterval must be positive.")
            .Validate(o => Enum.IsDefined(o.Durability) && o.DurableReplicas >= 1
                    && o.ReplicaWaitTimeout >= TimeSpan.FromMilliseconds(1),
                "Orders: Durability must be Local or Replica, DurableReplicas ≥ 1, ReplicaWaitTimeout ≥ 1 ms.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(UuidV7Generator.Default);
        services.AddSingleton<OrdersMetrics>();
        services.AddHostedService<ScriptPreloader>();
        services.AddErrorDetailTypes(OrderErrorsReflection.Descriptor);
        services.AddGrpcServiceHealth(OrderService.Descriptor);
        services.AddSingleton<StreamRegistry>();
        services.AddSingleton<SoldOutFlags>();
        services.AddSingleton<IDealChangeObserver>(sp => sp.GetRequiredService<SoldOutFlags>());
        services.AddHostedService<DealEventsListener>();
        services.AddSingleton<OrderStore>();
        services.AddSingleton<OrderReader>();
        services.AddSingleton<OrderStreamStatus>();
        services.AddSingleton<ReplicaAcknowledgement>();
        services.AddHostedService(sp => sp.GetRequiredService<ReplicaAcknowledgement>());
        services.AddSingleton<RedisOrderPlacement>();
        services.AddSingleton<PostgresRowLockPlacement>();
        services.AddSingleton<IDealChangeObserver>(sp => sp.GetRequiredService<PostgresRowLockPlacement>());
        services.AddSingleton<IOrderPlacement>(sp =>
            sp.GetRequiredService<IOptions<OrdersOptions>>().Value.Strategy switch
            {
                PlacementStrategy.PostgresRowLock => sp.GetRequiredService<PostgresRowLockPlacement>(),
                _ => sp.GetRequiredService<RedisOrderPlacement>(),
            });
        // The sandbox keeps its ledger in Redis, one for every replica, as a real provider is.
        services.TryAddSingleton<IPaymentProvider>(sp => new SandboxPaymentProvider(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));
        services.AddSingleton<OrderLifecycle>();
        services.AddSingleton<ExpirySweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<ExpirySweeper>());
        services.AddSingleton<PaymentReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<PaymentReconciler>());
        services.AddSingleton<OrderStreamConsumer>();
        if (configuration.GetValue($"{OrdersOptions.Section}:Stream:ConsumerEnabled", true))
        {
            services.AddHostedService(sp => sp.GetRequiredService<OrderStreamConsumer>());
        }
        services.AddSingleton<EventRelay>();
        if (configuration.GetValue($"{OrdersOptions.Section}:Events:RelayEnabled", true))
        {
            services.AddHostedService(sp => sp.GetRequiredService<EventRelay>());
        }
        services.AddCoupons(configuration);
        services.AddHealthChecks().AddCheck<OrderStreamHealthCheck>("order-stream", tags: ["ready"]);
        // Placing, paying and cancelling need Redis only; with PostgreSQL down the streams just grow. Staying ready
        // keeps the replicas in the load balancer during a database outage.
        services.PostConfigure<HealthCheckServiceOptions>(o =>
        {
            foreach (var check in o.Registrations.Where(r => r.Name == "postgres"))
            {
                check.FailureStatus = HealthStatus.Degraded;
            }
        });
        return services;
    }

    /// <summary>Coupon campaigns and claims (docs/coupons.md): CouponService and the coupon streams' consumer.</summary>
    public static IServiceCollection AddCoupons(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CouponsOptions>().Bind(configuration.GetSection(CouponsOptions.Section))
            .Validate(o => o.HoldLease > TimeSpan.Zero && o.KeyRetention > TimeSpan.Zero && o.DefaultRedeemWindow >= TimeSpan.Zero,
                "Orders:Coupons: HoldLease and KeyRetention must be positive, DefaultRedeemWindow not negative.")
            .ValidateOnStart();
        services.AddErrorDetailTypes(CouponErrorsReflection.Descriptor);
        services.AddGrpcServiceHealth(CouponService.Descriptor);
        services.AddSingleton<CouponStore>();
        services.AddSingleton<CouponStreamRegistry>();
        services.AddSingleton<ExhaustedCampaigns>();
        services.AddSingleton<CouponCampaigns>();
        services.AddSingleton<CouponRedemption>();
        services.AddSingleton<CouponStreamConsumer>();
        if (configuration.GetValue($"{OrdersOptions.Section}:Stream:ConsumerEnabled", true))
        {
            services.AddHostedService(sp => sp.GetRequiredService<CouponStreamConsumer>());
        }
        return services;
    }

    /// <summary>Configuration for the command verbs (migrate), read the way the host reads it.</summary>
    public static IConfiguration Configuration(string[] args)
    {
        var environment = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")
            ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Production";
        return new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args.SkipWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray())
            .Build();
    }
}
