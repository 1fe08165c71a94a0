using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

public sealed class RateLimitFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["RateLimits:Enabled"] = "true",
        ["RateLimits:Policies:log-in:PermitsPerSecond"] = "0.0166667",
        ["RateLimits:Policies:log-in:Burst"] = "3",
        ["RateLimits:Policies:sign-up:PermitsPerSecond"] = "0.0166667",
        ["RateLimits:Policies:sign-up:Burst"] = "2",
    };
}

/// <summary>
/// Log-in and sign-up are limited per client address (docs/rate-limits.md), before the handler and before the
/// failed-log-in throttle. Loopback is the trusted edge here, so X-Forwarded-For names the client.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RateLimitTests(RateLimitFixture service) : IClassFixture<RateLimitFixture>
{
    private readonly AuthClient _client = service.Client;

    private static Metadata From(string address) => new() { { "x-forwarded-for", address } };

    [Fact]
    public async Task LogInIsLimitedPerClientAddressWhateverTheAccount()
    {
        for (var i = 0; i < 3; i++)
        {
            var failed = await _client.LogInFailsAsync($"nobody-{i}@example.com", "wrong password!", From("203.0.113.60"));
            Assert.Equal(StatusCode.Unauthenticated, failed.StatusCode);
        }

        var e = await _client.LogInFailsAsync("someone-else@example.com", "wrong password!", From("203.0.113.60"));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        var info = e.GetDetail<ErrorInfo>()!;
        Assert.Equal(("RATE_LIMITED", "auth.flashdeal.dev", "log-in", "address"),
            (info.Reason, info.Domain, info.Metadata["policy"], info.Metadata["partition"]));
        Assert.NotNull(e.GetDetail<RetryInfo>());
        // A different client address still reaches the handler.
        Assert.Equal(StatusCode.Unauthenticated,
            (await _client.LogInFailsAsync("nobody@example.com", "wrong password!", From("203.0.113.61"))).StatusCode);
    }

    [Fact]
    public async Task SignUpIsLimitedPerClientAddressOverRest()
    {
        var statuses = new List<int>();
        RestResponse last = null!;
        for (var i = 0; i < 3; i++)
        {
            last = await _client.PostAsync("/v1/auth:signUp",
                $$"""{"email":"new-{{i}}-{{Guid.NewGuid():N}}@example.com","password":"{{AuthClient.Password}}"}""",
                new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.70" });
            statuses.Add(last.Status);
        }

        Assert.Equal([200, 200, 429], statuses);
        Assert.Equal("RATE_LIMITED", last.Reason);
        Assert.Equal(TimeSpan.FromSeconds(60), last.Response.Headers.RetryAfter?.Delta);
    }
}
