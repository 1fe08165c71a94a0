using System.Net;
using System.Text.Json;
using FlashDeal.Contracts.Auth.V1;

namespace FlashDeal.ServiceDefaults.Tests.IntegrationTests;

/// <summary>
/// The in-box rate limiter as every service runs it: a bucket per user after authentication, per client address before
/// it (forwarded headers believed from trusted proxies only), refusals as 429 + Retry-After with a google.rpc.Status
/// body naming the policy.
/// </summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private DefaultsHost _host = null!;

    public async Task InitializeAsync() => _host = await DefaultsHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpResponseMessage> GetAsync(string path, string? token = null, string? forwardedFor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + token);
        }
        if (forwardedFor is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        }
        return await _host.Http.SendAsync(request);
    }

    /// <summary>Calls until one is refused; the burst is 2, so the third at the latest (a bucket refills at most 1/s).</summary>
    private async Task<HttpResponseMessage> ExhaustAsync(string path, string? token = null, string? forwardedFor = null)
    {
        for (var i = 0; i < 10; i++)
        {
            var response = await GetAsync(path, token, forwardedFor);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return response;
            }
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        throw new Xunit.Sdk.XunitException("10 calls in a row were allowed by a bucket of 2 refilled once a second.");
    }

    [Fact]
    public async Task EachUserHasItsOwnBucket()
    {
        var ada = DefaultsHost.Token("ada");
        var refused = await ExhaustAsync("/v1/limited/user", ada);

        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(8, body.GetProperty("code").GetInt32());
        var info = body.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString()!.EndsWith("ErrorInfo", StringComparison.Ordinal));
        Assert.Equal("RATE_LIMITED", info.GetProperty("reason").GetString());
        Assert.Equal("defaults-test.flashdeal.dev", info.GetProperty("domain").GetString());
        Assert.Equal("test-user", info.GetProperty("metadata").GetProperty("policy").GetString());
        Assert.Equal("user", info.GetProperty("metadata").GetProperty("partition").GetString());
        Assert.Contains(body.GetProperty("details").EnumerateArray(),
            d => d.GetProperty("@type").GetString()!.EndsWith("RetryInfo", StringComparison.Ordinal));

        // Another user from the same address is not affected.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/v1/limited/user", DefaultsHost.Token("grace"))).StatusCode);
    }

    [Fact]
    public async Task AnEndpointsErrorDomainNamesTheRefusalsDomain()
    {
        var refused = await ExhaustAsync("/v1/limited/domain", DefaultsHost.Token("ada"));

        var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        var info = body.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString()!.EndsWith("ErrorInfo", StringComparison.Ordinal));
        Assert.Equal(("RATE_LIMITED", "things.flashdeal.dev"),
            (info.GetProperty("reason").GetString(), info.GetProperty("domain").GetString()));
    }

    [Fact]
    public async Task AnonymousCallersAreKeyedByTheirForwardedAddress()
    {
        await ExhaustAsync("/v1/limited/user", forwardedFor: "203.0.113.7");

        // The edge (loopback, a trusted proxy) forwarded another client: its own bucket.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/v1/limited/user", forwardedFor: "203.0.113.8")).StatusCode);
        var refused = await GetAsync("/v1/limited/user", forwardedFor: "203.0.113.7");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("\"partition\": \"address\"", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AddressPoliciesIgnoreTheUser()
    {
        var refused = await ExhaustAsync("/v1/limited/address", DefaultsHost.Token("ada"), "198.51.100.1");
        // Counted (and reported) by address although the caller sent a token.
        Assert.Contains("\"partition\": \"address\"", await refused.Content.ReadAsStringAsync());

        var another = await GetAsync("/v1/limited/address", DefaultsHost.Token("grace"), "198.51.100.1");
        Assert.Equal(HttpStatusCode.TooManyRequests, another.StatusCode);
    }

    [Fact]
    public async Task IPv6ClientsShareTheBucketOfTheirSlash64()
    {
        await ExhaustAsync("/v1/limited/address", forwardedFor: "2001:db8:1:2::10");

        Assert.Equal(HttpStatusCode.TooManyRequests,
            (await GetAsync("/v1/limited/address", forwardedFor: "2001:db8:1:2:ffff::99")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/v1/limited/address", forwardedFor: "2001:db8:1:3::10")).StatusCode);
    }

    [Fact]
    public async Task TheBucketRefills()
    {
        var token = DefaultsHost.Token("refill");
        var refused = await ExhaustAsync("/v1/limited/refill", token);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        await Task.Delay(refused.Headers.RetryAfter!.Delta!.Value + TimeSpan.FromMilliseconds(300));

        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/v1/limited/refill", token)).StatusCode);
    }

    [Fact]
    public async Task UnlimitedEndpointsAreNotCounted()
    {
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await GetAsync("/v1/whoami", forwardedFor: "192.0.2.55")).StatusCode);
        }
    }
}
