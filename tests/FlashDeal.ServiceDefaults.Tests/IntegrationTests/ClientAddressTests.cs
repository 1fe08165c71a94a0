namespace FlashDeal.ServiceDefaults.Tests.IntegrationTests;

/// <summary>
/// Which address a call counts as (rate limits, auth's log-in throttle): ASP.NET Core's forwarded headers with
/// RateLimits:TrustedProxies — X-Forwarded-For read right to left, believed only while the hop that wrote it is trusted.
/// </summary>
public sealed class ClientAddressTests
{
    private static async Task<string> WhoAmIAsync(DefaultsHost host, params string[] forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/whoami");
        foreach (var value in forwardedFor)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", value);
        }
        var response = await host.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync()).Trim('"');
    }

    [Fact]
    public async Task BehindTheLocalEdgeTheForwardedClientCounts()
    {
        await using var host = await DefaultsHost.StartAsync();

        Assert.Equal("127.0.0.1", await WhoAmIAsync(host));
        Assert.Equal("203.0.113.7", await WhoAmIAsync(host, "203.0.113.7"));
        Assert.Equal("203.0.113.7", await WhoAmIAsync(host, "203.0.113.7:5678"));
    }

    [Fact]
    public async Task OnlyTheHopsTrustedProxiesWroteAreBelieved()
    {
        await using var host = await DefaultsHost.StartAsync(new()
        {
            ["RateLimits:TrustedProxies:0"] = "127.0.0.0/8",
            ["RateLimits:TrustedProxies:1"] = "10.0.0.0/8",
        });

        // The client wrote the first entry itself; the edge (10.0.0.5) appended what it saw: 198.51.100.9.
        Assert.Equal("198.51.100.9", await WhoAmIAsync(host, "1.2.3.4, 198.51.100.9, 10.0.0.5"));
        Assert.Equal("198.51.100.9", await WhoAmIAsync(host, "1.2.3.4", "198.51.100.9, 10.0.0.5"));
    }

    [Fact]
    public async Task AnUntrustedPeerIsTheClientWhateverItForwards()
    {
        await using var host = await DefaultsHost.StartAsync(new() { ["RateLimits:TrustedProxies:0"] = "10.0.0.0/8" });

        Assert.Equal("127.0.0.1", await WhoAmIAsync(host, "203.0.113.7"));
    }

    [Fact]
    public async Task WithRateLimitsOffTheTrustedProxiesStillApply()
    {
        await using var host = await DefaultsHost.StartAsync(new() { ["RateLimits:Enabled"] = "false" });

        Assert.Equal("203.0.113.7", await WhoAmIAsync(host, "203.0.113.7"));
    }

    [Fact]
    public async Task ATrustedProxyThatIsNoAddressFailsAtStart()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            DefaultsHost.StartAsync(new() { ["RateLimits:TrustedProxies:0"] = "the-edge" }));
        Assert.Contains("the-edge", error.Message);
    }

    [Fact]
    public async Task AnAttributeNamingAnUnknownPolicyFailsAtStart()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => DefaultsHost.StartAsync(unknownPolicy: "no-such-policy"));
        Assert.Contains("no-such-policy", error.Message);
    }

    [Fact]
    public async Task AnImpossiblePolicyFailsAtStartNamingIt()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            DefaultsHost.StartAsync(new() { ["RateLimits:Policies:test-user:PermitsPerSecond"] = "0" }));
        Assert.Contains("RateLimits:Policies:test-user", error.ToString());
    }
}
