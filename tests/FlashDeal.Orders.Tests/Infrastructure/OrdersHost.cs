using FlashDeal.Orders.Lifecycle;
using FlashDeal.Orders.Persistence;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlashDeal.Orders.Tests;

/// <summary>The real orders service in-process (ServiceTestHost) trusting the test tokens, plus a typed client.</summary>
public sealed class OrdersHost : IAsyncDisposable
{
    private OrdersHost(ServiceTestHost host)
    {
        Host = host;
        Client = new OrderClient(host.Grpc, TestTokens.Shared);
        Coupons = new CouponClient(host.Grpc, TestTokens.Shared);
    }

    public CouponClient Coupons { get; }

    public ServiceTestHost Host { get; }

    public OrderClient Client { get; }

    public HttpClient Http => Host.Http;

    public IServiceProvider Services => Host.Services;

    public OrderLifecycle Lifecycle => Services.GetRequiredService<OrderLifecycle>();

    public OrderStreamConsumer Consumer => Services.GetRequiredService<OrderStreamConsumer>();

    /// <summary>Settings every test host gets; <paramref name="overrides"/> win.</summary>
    public static Dictionary<string, string?> Settings(string postgres, string redis,
        IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(TestTokens.Shared.Settings)
        {
            ["ConnectionStrings:Postgres"] = postgres,
            ["ConnectionStrings:Redis"] = redis,
            ["Orders:Stream:PollInterval"] = "00:00:00.020",
            ["Orders:Stream:RegistryRefreshInterval"] = "00:00:00.100",
            ["Orders:ExpirySweepInterval"] = "00:00:00.200",
            // Many tests place dozens of parallel orders as one user; RateLimitTests turns the limits on.
            ["RateLimits:Enabled"] = "false",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return settings;
    }

    public static async Task<OrdersHost> StartAsync(string postgres, string redis,
        IReadOnlyDictionary<string, string?>? overrides = null, Action<WebApplicationBuilder>? configure = null)
    {
        var host = await ServiceTestHost.StartAsync(OrdersApp.Build, Settings(postgres, redis, overrides),
            builder =>
            {
                // Validate tokens with the test key directly, as the auth service does with its own keys.
                builder.Services.UseLocalSigningKeys(_ => TestTokens.Shared.Keys.Keys);
                configure?.Invoke(builder);
            });
        return new OrdersHost(host);
    }

    /// <summary>
    /// Starts a host that must not start and returns why. ServiceTestHost gives no host back then, yet the hosted
    /// services that started before the failure (stream consumer, expiry sweeper) would go on draining the shared Redis
    /// into this host's database, away from the tests that follow: they are stopped here.
    /// </summary>
    public static async Task<Exception?> FailedStartAsync(string postgres, string redis,
        IReadOnlyDictionary<string, string?> overrides)
    {
        IHost? started = null;
        var error = await Record.ExceptionAsync(() => StartAsync(postgres, redis, overrides, builder =>
            builder.Services.AddHostedService(sp =>
            {
                started = sp.GetRequiredService<IHost>();
                return new NothingToRun();
            })));
        if (error is not null && started is not null)
        {
            await started.StopAsync();
            started.Dispose();
        }
        return error;
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();

    private sealed class NothingToRun : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
