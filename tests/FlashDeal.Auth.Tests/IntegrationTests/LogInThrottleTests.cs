using FlashDeal.Contracts.Auth.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

public sealed class ThrottleFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    public static Dictionary<string, string?> Limits() => new()
    {
        ["Auth:LogInThrottle:MaxFailuresPerAccount"] = "3",
        ["Auth:LogInThrottle:MaxFailuresPerAddress"] = "5",
        ["Auth:LogInThrottle:Window"] = "00:15:00",
        // These tests count in Redis: a busy machine's slow script must not send an attempt to the in-process fallback
        // (the tests that take Redis away show that fallback).
        ["Auth:LogInThrottle:RedisTimeout"] = "00:00:15",
    };

    /// <summary>
    /// This process connects over loopback, standing in for the edge; 10.0.0.0/8 is the proxies' network between the
    /// client and it. The rate limits stay off (the fixture's default): the throttle reads the trusted proxies anyway.
    /// </summary>
    public static Dictionary<string, string?> BehindProxies() => new(Limits())
    {
        ["RateLimits:TrustedProxies:0"] = "127.0.0.0/8",
        ["RateLimits:TrustedProxies:1"] = "10.0.0.0/8",
    };

    protected override IReadOnlyDictionary<string, string?> Settings => BehindProxies();
}

/// <summary>
/// The limits are 3 failures per account and 5 per address in 15 minutes; each test uses its own address. Calls come
/// through a trusted proxy (10.0.0.1) to the trusted edge (loopback), so the hop left of 10.0.0.1 is the client.
/// </summary>
[Collection(DataServers.Name)]
public sealed class LogInThrottleTests(ThrottleFixture service) : IClassFixture<ThrottleFixture>
{
    private readonly AuthClient _client = service.Client;

    private static int _nextAddress;

    private static string NewAddress() => $"198.51.100.{Interlocked.Increment(ref _nextAddress)}";

    private static Metadata From(string address) => new() { { "x-forwarded-for", $"{address}, 10.0.0.1" } };

    private static string NewEmail() => $"nobody-{Guid.NewGuid():N}@example.com";

    private Task<string> AddressCountAsync(string address) => service.Redis.ExecuteAsync("GET", $"{{auth-login}}:address:{address}");

    private async Task<string> SignedUpEmailAsync()
    {
        var email = $"user-{Guid.NewGuid():N}@example.com";
        await _client.SignUpAsync(email);
        return email;
    }

    [Fact]
    public async Task AccountIsThrottledAtTheLimitEvenForTheRightPassword()
    {
        var email = await SignedUpEmailAsync();
        var address = NewAddress();
        for (var i = 0; i < 3; i++)
        {
            (await _client.LogInFailsAsync(email, "wrong password!", From(address)))
                .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
        }

        var grpc = await _client.LogInFailsAsync(email, AuthClient.Password, From(address));
        var rest = await _client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"{{AuthClient.Password}}"}""",
            new Dictionary<string, string> { ["X-Forwarded-For"] = NewAddress() });

        grpc.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);
        Assert.Equal("account", grpc.GetDetail<ErrorInfo>()!.Metadata["limit"]);
        var delay = grpc.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan();
        Assert.InRange(delay, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));
        Assert.Equal(429, rest.Status);
        Assert.Equal("TOO_MANY_ATTEMPTS", rest.Reason);
        Assert.InRange(rest.Response.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));
    }

    [Fact]
    public async Task SuccessForgivesTheAccountsFailures()
    {
        var email = await SignedUpEmailAsync();
        var address = NewAddress();
        for (var round = 0; round < 3; round++)
        {
            await _client.LogInFailsAsync(email, "wrong password!", From(address));
            await _client.LogInFailsAsync(email, "wrong password!", From(NewAddress()));
            await _client.LogInAsync(email, headers: From(address));
        }
    }

    [Fact]
    public async Task AddressIsThrottledAcrossAccounts()
    {
        var address = NewAddress();
        for (var i = 0; i < 5; i++)
        {
            (await _client.LogInFailsAsync($"nobody-{i}-{Guid.NewGuid():N}@example.com", "wrong password!", From(address)))
                .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
        }
        var email = await SignedUpEmailAsync();

        var blocked = await _client.LogInFailsAsync(email, AuthClient.Password, From(address));
        var rest = await _client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"{{AuthClient.Password}}"}""",
            new Dictionary<string, string> { ["X-Forwarded-For"] = address });

        blocked.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);
        Assert.Equal("address", blocked.GetDetail<ErrorInfo>()!.Metadata["limit"]);
        Assert.Equal(429, rest.Status);
        Assert.NotNull(rest.Response.Headers.RetryAfter?.Delta);
        await _client.LogInAsync(email, headers: From(NewAddress()));
    }

    [Fact]
    public async Task ParallelGuessesCannotGetPastTheLimit()
    {
        // Parallel sign-ups first, so pooled connections (HTTP/2, PostgreSQL, Redis) exist and the guesses really overlap.
        var email = (await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => SignedUpEmailAsync())))[0];
        var address = NewAddress();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var guesses = Enumerable.Range(0, 10).Select(async i =>
        {
            await start.Task;
            return (await _client.LogInFailsAsync(email, $"guess number {i}", From(address))).StatusCode;
        }).ToList();
        start.SetResult();
        var codes = await Task.WhenAll(guesses);

        Assert.Equal(3, codes.Count(c => c == StatusCode.Unauthenticated));
        Assert.Equal(7, codes.Count(c => c == StatusCode.ResourceExhausted));
    }

    [Fact]
    public async Task ClientsBehindTheSameProxyAreThrottledSeparately()
    {
        var guesser = NewAddress();
        var bystander = NewAddress();
        for (var i = 0; i < 5; i++)
        {
            (await _client.LogInFailsAsync(NewEmail(), "wrong password!", From(guesser)))
                .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
        }

        var blocked = await _client.LogInFailsAsync(NewEmail(), "wrong password!", From(guesser));
        var other = await _client.LogInFailsAsync(NewEmail(), "wrong password!", From(bystander));

        blocked.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);
        Assert.Equal("address", blocked.GetDetail<ErrorInfo>()!.Metadata["limit"]);
        other.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
        Assert.Equal("5", await AddressCountAsync(guesser));
        Assert.Equal("1", await AddressCountAsync(bystander));
        Assert.Equal("0", await service.Redis.ExecuteAsync("EXISTS", "{auth-login}:address:10.0.0.1"));
    }

    [Fact]
    public async Task ForgedHopsLeftOfTheClientDoNotChangeTheKey()
    {
        var address = NewAddress();
        // The client wrote the first hop itself; the proxy appended the address it saw, then its own.
        Metadata Forged(int i) => new() { { "x-forwarded-for", $"203.0.113.{i + 1}, {address}, 10.0.0.1" } };
        for (var i = 0; i < 5; i++)
        {
            (await _client.LogInFailsAsync(NewEmail(), "wrong password!", Forged(i)))
                .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
        }

        var blocked = await _client.LogInFailsAsync(NewEmail(), "wrong password!", Forged(5));

        blocked.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);
        Assert.Equal("address", blocked.GetDetail<ErrorInfo>()!.Metadata["limit"]);
        Assert.Equal("5", await AddressCountAsync(address));
        Assert.Equal("0", await service.Redis.ExecuteAsync("EXISTS", "{auth-login}:address:203.0.113.1"));
    }

    [Fact]
    public async Task ForwardedForFromAnUntrustedPeerIsIgnored()
    {
        // Only 192.0.2.1 is a trusted proxy: this process (127.0.0.1) is an ordinary client, whatever it forwards.
        await using var untrusting = await service.StartHostAsync(
            new Dictionary<string, string?>(ThrottleFixture.Limits()) { ["RateLimits:TrustedProxies:0"] = "192.0.2.1" });
        var client = new AuthClient(untrusting);
        for (var i = 0; i < 5; i++)
        {
            await client.LogInFailsAsync(NewEmail(), "wrong password!",
                new Metadata { { "x-forwarded-for", NewAddress() } });
        }

        var blocked = await client.LogInFailsAsync(NewEmail(), "wrong password!",
            new Metadata { { "x-forwarded-for", NewAddress() } });

        blocked.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);
        Assert.Equal("address", blocked.GetDetail<ErrorInfo>()!.Metadata["limit"]);
        Assert.Equal("5", await AddressCountAsync("127.0.0.1"));
    }
}
