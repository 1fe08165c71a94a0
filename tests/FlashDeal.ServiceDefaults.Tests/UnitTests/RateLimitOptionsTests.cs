using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.Extensions.Configuration;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

public sealed class RateLimitOptionsTests
{
    private static readonly RateLimitPolicyDefaults Defaults = new(new Dictionary<string, RateLimitPolicyOptions>
    {
        ["place-order"] = new() { PermitsPerSecond = 3, Burst = 5 },
        ["log-in"] = new() { PermitsPerSecond = 5, Burst = 20, Partition = RateLimitPartition.Address },
    });

    [Fact]
    public void WithoutConfigurationTheServiceDefaultsApply()
    {
        var options = Read([]);

        Assert.True(options.Enabled);
        Assert.Null(options.TrustedProxies);
        Assert.Equal((3.0, 5, RateLimitPartition.User), Describe(options, "place-order"));
        Assert.Equal((5.0, 20, RateLimitPartition.Address), Describe(options, "log-in"));
    }

    [Fact]
    public void ConfigurationOverridesADefaultFieldByField()
    {
        var options = Read(new()
        {
            ["RateLimits:Policies:place-order:Burst"] = "8",
            ["RateLimits:Policies:LOG-IN:PermitsPerSecond"] = "0.5",
        });

        Assert.Equal((3.0, 8, RateLimitPartition.User), Describe(options, "place-order"));
        Assert.Equal((0.5, 20, RateLimitPartition.Address), Describe(options, "log-in"));
    }

    [Fact]
    public void ConfigurationAddsPoliciesAndTheOtherSettings()
    {
        var options = Read(new()
        {
            ["RateLimits:Policies:exports:PermitsPerSecond"] = "0.1",
            ["RateLimits:Policies:exports:Partition"] = "Address",
            ["RateLimits:TrustedProxies:0"] = "10.0.0.0/8",
            ["RateLimits:Domain"] = "shop.example",
        });

        Assert.Equal((0.1, 1, RateLimitPartition.Address), Describe(options, "exports"));
        Assert.Equal(["10.0.0.0/8"], options.TrustedProxies);
        Assert.Equal("shop.example", options.Domain);
        Assert.Equal(3, options.Policies.Count);
    }

    private static RateLimitOptions Read(Dictionary<string, string?> settings) =>
        RateLimitingExtensions.Read(
            new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(RateLimitOptions.Section),
            [Defaults]);

    private static (double, int, RateLimitPartition) Describe(RateLimitOptions options, string name)
    {
        var policy = options.Policies[name];
        return (policy.PermitsPerSecond, policy.Burst, policy.Partition);
    }
}
