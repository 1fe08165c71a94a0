using FlashDeal.Auth.Accounts;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Auth.Tests.IntegrationTests;

/// <summary>One hashing slot and no queue: while a test holds the slot, every sign-up and log-in is shed at once.</summary>
public sealed class PasswordWorkFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(ThrottleFixture.BehindProxies())
    {
        ["Auth:Passwords:MaxConcurrent"] = "1",
        ["Auth:Passwords:MaxQueued"] = "0",
        ["Auth:Passwords:MaxWait"] = "00:00:02",
    };
}

/// <summary>One hashing slot and a queue: a caller waits for the slot until its own deadline.</summary>
public sealed class QueuedPasswordWorkFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(ThrottleFixture.BehindProxies())
    {
        ["Auth:Passwords:MaxConcurrent"] = "1",
        ["Auth:Passwords:MaxQueued"] = "100",
        ["Auth:Passwords:MaxWait"] = "00:01:00",
    };
}

/// <summary>A log-in whose caller gives up while it waits for a hashing slot counts against nobody.</summary>
[Collection(DataServers.Name)]
public sealed class QueuedPasswordWorkTests(QueuedPasswordWorkFixture service) : IClassFixture<QueuedPasswordWorkFixture>
{
    [Fact]
    public async Task ALogInAbandonedInTheQueueIsWithdrawn()
    {
        var client = service.Client;
        var email = $"queued-{Guid.NewGuid():N}@example.com";
        await client.SignUpAsync(email);
        var address = "198.51.100.201";
        var headers = new Metadata { { "x-forwarded-for", $"{address}, 10.0.0.1" } };
        var accountKey = Throttling.LogInThrottle.AccountKey(email);

        await using (await PasswordWorkTests.HoldTheSlotAsync(service.Host))
        {
            // More abandoned log-ins than the account's limit (3) allows failures.
            for (var i = 0; i < 5; i++)
            {
                var gaveUp = await client.FailAsync(c => c.LogInAsync(new LogInRequest { Email = email, Password = AuthClient.Password },
                    new CallOptions(headers, DateTime.UtcNow.AddMilliseconds(300))));
                Assert.Equal(StatusCode.DeadlineExceeded, gaveUp.StatusCode);
                // The server sees the deadline pass a moment after the client: wait for its withdrawal.
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (await service.Redis.ExecuteAsync("EXISTS", accountKey) != "0")
                {
                    Assert.True(DateTime.UtcNow < deadline, $"attempt {i + 1} was never withdrawn");
                    await Task.Delay(20);
                }
            }
        }

        var logIn = await client.LogInAsync(email, headers: headers);
        Assert.Equal(email, logIn.User.Email);
    }
}

/// <summary>
/// A log-in storm: while the replica's hashing slots are full, SignUp and LogIn answer RESOURCE_EXHAUSTED
/// (PASSWORD_CHECKS_BUSY, retry delay) over gRPC and 429 + Retry-After over REST, create nothing, count no attempt
/// against the account or the address, and leave the rest of the service answering.
/// </summary>
[Collection(DataServers.Name)]
public sealed class PasswordWorkTests(PasswordWorkFixture service) : IClassFixture<PasswordWorkFixture>
{
    private readonly AuthClient _client = service.Client;

    private static Metadata From(string address) => new() { { "x-forwarded-for", $"{address}, 10.0.0.1" } };

    private Task<IAsyncDisposable> HoldTheSlotAsync() => HoldTheSlotAsync(service.Host);

    /// <summary>Holds the host's only hashing slot until the returned release is disposed.</summary>
    internal static async Task<IAsyncDisposable> HoldTheSlotAsync(ServiceTestHost host)
    {
        var work = host.Services.GetRequiredService<PasswordWork>();
        var release = new TaskCompletionSource();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = Task.Run(() => work.RunAsync(() =>
        {
            running.SetResult();
            release.Task.Wait();
            return true;
        }, CancellationToken.None).AsTask());
        await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return new Release(release, held);
    }

    private sealed class Release(TaskCompletionSource release, Task held) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            release.TrySetResult();
            await held;
        }
    }

    [Fact]
    public async Task LogInIsShedWithARetryDelayAndCountsAgainstNobody()
    {
        var email = $"storm-{Guid.NewGuid():N}@example.com";
        await _client.SignUpAsync(email);
        const string address = "198.51.100.200";

        await using (await HoldTheSlotAsync())
        {
            // More busy answers than the account (3) and address (5) limits allow failures.
            for (var i = 0; i < 6; i++)
            {
                var busy = await _client.LogInFailsAsync(email, headers: From(address));
                busy.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.PasswordChecksBusy);
                Assert.Equal(TimeSpan.FromSeconds(2), busy.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
                Assert.Equal("2", busy.GetDetail<ErrorInfo>()!.Metadata["retry_after_seconds"]);
            }
            var rest = await _client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"{{AuthClient.Password}}"}""",
                new Dictionary<string, string> { ["X-Forwarded-For"] = address });
            Assert.Equal(429, rest.Status);
            Assert.Equal("PASSWORD_CHECKS_BUSY", rest.Reason);
            Assert.Equal(TimeSpan.FromSeconds(2), rest.Response.Headers.RetryAfter?.Delta);

            // The rest of the service still answers.
            var ready = await service.Host.Http.GetAsync(new Uri(service.Host.RestAddress, "/readyz"));
            Assert.True(ready.IsSuccessStatusCode);
        }

        Assert.Equal("0", await service.Redis.ExecuteAsync("EXISTS", $"{{auth-login}}:address:{address}"));
        Assert.Equal("0", await service.Redis.ExecuteAsync("EXISTS", Throttling.LogInThrottle.AccountKey(email)));
        var logIn = await _client.LogInAsync(email, headers: From(address));
        Assert.Equal(email, logIn.User.Email);
    }

    [Fact]
    public async Task SignUpIsShedAndCreatesNothing()
    {
        var email = $"storm-{Guid.NewGuid():N}@example.com";
        await using (await HoldTheSlotAsync())
        {
            var busy = await _client.FailAsync(c => c.SignUpAsync(new SignUpRequest { Email = email, Password = AuthClient.Password },
                AuthClient.Options()));
            busy.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.PasswordChecksBusy);
        }

        var created = await _client.SignUpAsync(email); // not EMAIL_ALREADY_REGISTERED: the shed sign-up left no account
        Assert.Equal(email, created.User.Email);
    }
}
