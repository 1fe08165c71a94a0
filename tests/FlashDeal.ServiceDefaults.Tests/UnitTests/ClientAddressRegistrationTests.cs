using System.Net;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

/// <summary>The resolver is registered whether rate limits are on or off: auth's log-in throttle needs it either way.</summary>
public sealed class ClientAddressRegistrationTests
{
    [Fact]
    public void WithRateLimitsOffTheResolverStillTrustsTheConfiguredProxies()
    {
        using var provider = Register(new()
        {
            ["RateLimits:Enabled"] = "false",
            ["RateLimits:TrustedProxies:0"] = "10.0.0.0/8",
        });

        var resolver = provider.GetRequiredService<ClientAddressResolver>();

        Assert.True(resolver.IsTrusted(IPAddress.Parse("10.1.2.3")));
        Assert.False(resolver.IsTrusted(IPAddress.Loopback));
        Assert.Null(provider.GetService<RateLimitInterceptor>());
    }

    [Fact]
    public void WithoutTrustedProxiesLoopbackIsTrusted()
    {
        using var provider = Register(new() { ["RateLimits:Enabled"] = "false" });

        var resolver = provider.GetRequiredService<ClientAddressResolver>();

        Assert.True(resolver.IsTrusted(IPAddress.Loopback));
        Assert.True(resolver.IsTrusted(IPAddress.IPv6Loopback));
        Assert.False(resolver.IsTrusted(IPAddress.Parse("10.1.2.3")));
    }

    [Fact]
    public void WithRateLimitsOnTheLimiterGetsTheSameResolver()
    {
        var configuration = Configuration(new() { ["RateLimits:TrustedProxies:0"] = "192.0.2.1" });
        var services = new ServiceCollection().AddClientAddressResolver(configuration);
        var registered = Assert.Single(services, d => d.ServiceType == typeof(ClientAddressResolver)).ImplementationInstance;

        services.AddFlashDealRateLimiting(configuration, "test");

        Assert.Same(registered, Assert.Single(services, d => d.ServiceType == typeof(ClientAddressResolver)).ImplementationInstance);
        Assert.True(((ClientAddressResolver)registered!).IsTrusted(IPAddress.Parse("192.0.2.1")));
    }

    [Fact]
    public void ATrustedProxyThatIsNoAddressFailsAtRegistration()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Register(new()
        {
            ["RateLimits:Enabled"] = "false",
            ["RateLimits:TrustedProxies:0"] = "edge.internal",
        }));

        Assert.Contains("RateLimits:TrustedProxies", error.Message);
    }

    private static ServiceProvider Register(Dictionary<string, string?> settings) =>
        new ServiceCollection().AddFlashDealRateLimiting(Configuration(settings), "test").BuildServiceProvider();

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
}
