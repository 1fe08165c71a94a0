using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Grpc;
using FlashDeal.TestInfrastructure;
using Google.Rpc;

namespace FlashDeal.Auth.Tests.IntegrationTests;

public sealed class ThrottleFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    public static Dictionary<string, string?> Limits(bool trustForwardedFor) => new()
    {
        ["Auth:LogInThrottle:MaxFailuresPerAccount"] = "3",
        ["Auth:LogInThrottle:MaxFailuresPerAddress"] = "5",
        ["Auth:LogInThrottle:Window"] = "00:15:00",
        ["Auth:TrustForwardedFor"] = trustForwardedFor ? "true" : "false",
    };

    protected override IReadOnlyDictionary<string, string?> Settings => Limits(trustForwardedFor: true);
}

/// <summary>The limits are 3 failures per account and 5 per address in 15 minutes; each test uses its own address.</summary>
[Collection(DataServers.Name)]
public sealed class LogInThrottleTests(ThrottleFixture service) : IClassFixture<ThrottleFixture>
{
    private readonly AuthClient _client = service.Client;

    private static int _nextAddress;

    private static string NewAddress() => $"198.51.100.{Interlocked.Increment(ref _nextAddress)}";

    private static Metadata From(string address) => new() { { "x-forwarded-for", $"{address}, 10.0.0.1" } };

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
    public async Task ForwardedForIsIgnoredUnlessTrusted()
    {
        await using var untrusting = await service.StartHostAsync(ThrottleFixture.Limits(trustForwardedFor: false));
        var client = new AuthClient(untrusting);
        for (var i = 0; i < 5; i++)
        {
            await client.LogInFailsAsync($"nobody-{i}-{Guid.NewGuid():N}@example.com", "wrong password!", From(NewAddress()));
        }

        var blocked = await client.LogInFailsAsync("someone@example.com", "wrong password!", From(NewAddress()));

        blocked.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);
        Assert.Equal("address", blocked.GetDetail<ErrorInfo>()!.Metadata["limit"]);
        Assert.Equal("5", await service.Redis.ExecuteAsync("GET", "{auth-login}:address:127.0.0.1"));
    }
}
