using FlashDeal.Auth.Throttling;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

/// <summary>
/// LogInThrottleTests and the shed log-in of PasswordWorkTests on a Redis Cluster (three primaries, a replica each):
/// the auth service connects with every node, and its begin, end and withdraw scripts each take an account key and an
/// address key. Both carry the hash tag <c>{auth-login}</c>, so every script runs on the primary serving that slot;
/// keys in two slots would be refused (StackExchange.Redis: "Multi-key operations must involve a single slot", Redis:
/// CROSSSLOT). A refusal by Redis would be hidden by the throttle's in-process fallback, which answers the same, so
/// each test also reads the counters on that primary and finds no "Redis is unavailable" warning in the log.
/// Each test hosts auth on its own database (limits 3 per account, 5 per address; behind trusted proxies).
/// </summary>
[Collection(DataServers.Name)]
public sealed class LogInThrottleClusterTests(PostgresServer postgres, RedisClusterSet cluster)
    : IClassFixture<RedisClusterSet>, IAsyncLifetime
{
    private readonly List<AuthServiceFixture> _services = [];
    private AuthServiceFixture _service = null!;
    private RedisServer _throttleNode = null!;

    private static int _nextAddress;

    private AuthClient Client => _service.Client;

    private static string NewAddress() => $"198.51.100.{Interlocked.Increment(ref _nextAddress)}";

    private static Metadata From(string address) => new() { { "x-forwarded-for", $"{address}, 10.0.0.1" } };

    /// <summary>Auth with <paramref name="settings"/>, its Redis the cluster, its fixture's Redis the throttle's primary.</summary>
    private sealed class ClusterAuthService(PostgresServer postgres, RedisServer throttleNode, string cluster,
        IReadOnlyDictionary<string, string?> settings) : AuthServiceFixture(postgres, throttleNode)
    {
        protected override IReadOnlyDictionary<string, string?> Settings =>
            new Dictionary<string, string?>(settings) { ["ConnectionStrings:Redis"] = cluster };
    }

    public async Task InitializeAsync()
    {
        Assert.Equal(3, (await cluster.PrimaryPortsAsync()).Count);
        _throttleNode = cluster.NodeOn(await cluster.PrimaryPortForKeyAsync(LogInThrottle.AddressKey(NewAddress())));
        _service = await StartAsync(ThrottleFixture.BehindProxies());
    }

    private async Task<AuthServiceFixture> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var service = new ClusterAuthService(postgres, _throttleNode, cluster.ConnectionString, settings);
        _services.Add(service);
        await service.InitializeAsync();
        return service;
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            await service.DisposeAsync();
        }
    }

    /// <summary>
    /// A counter as the primary serving its slot holds it now ("" when missing): asked at read time, so a failover a busy
    /// machine's missed heartbeats caused cannot send the read to a node that no longer serves the slot.
    /// </summary>
    private async Task<string> CounterAsync(string key) =>
        await cluster.NodeOn(await cluster.PrimaryPortForKeyAsync(key)).ExecuteAsync("GET", key);

    private async Task<string> ExistsAsync(string key) =>
        await cluster.NodeOn(await cluster.PrimaryPortForKeyAsync(key)).ExecuteAsync("EXISTS", key);

    private static void AssertCountedInRedis(AuthServiceFixture service) =>
        Assert.DoesNotContain(service.Logs.Entries, e => e.Message.Contains("unavailable for log-in throttling", StringComparison.Ordinal));

    private async Task<string> SignedUpEmailAsync(AuthClient? client = null)
    {
        var email = $"user-{Guid.NewGuid():N}@example.com";
        await (client ?? Client).SignUpAsync(email);
        return email;
    }

    [Fact]
    public async Task AccountIsThrottledAtTheLimitWhileAnotherAccountLogsIn()
    {
        var email = await SignedUpEmailAsync();
        var other = await SignedUpEmailAsync();
        var address = NewAddress();
        Assert.Equal(await cluster.SlotOfAsync(LogInThrottle.AccountKey(email)), await cluster.SlotOfAsync(LogInThrottle.AddressKey(address)));
        for (var i = 0; i < 3; i++)
        {
            (await Client.LogInFailsAsync(email, "wrong password!", From(address)))
                .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
        }

        var grpc = await Client.LogInFailsAsync(email, AuthClient.Password, From(address));
        var rest = await Client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"{{AuthClient.Password}}"}""",
            new Dictionary<string, string> { ["X-Forwarded-For"] = NewAddress() });
        var otherLogIn = await Client.LogInAsync(other, headers: From(address));

        grpc.AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);
        Assert.Equal("account", grpc.GetDetail<ErrorInfo>()!.Metadata["limit"]);
        Assert.InRange(grpc.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));
        Assert.Equal(429, rest.Status);
        Assert.Equal("TOO_MANY_ATTEMPTS", rest.Reason);
        Assert.InRange(rest.Response.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));
        Assert.Equal(other, otherLogIn.User.Email);
        // The other account's success handed its attempt back to the address: only the three failures count there.
        Assert.Equal("3", await CounterAsync(LogInThrottle.AccountKey(email)));
        Assert.Equal("3", await CounterAsync(LogInThrottle.AddressKey(address)));
        AssertCountedInRedis(_service);
    }

    [Fact]
    public async Task SuccessForgivesTheAccountsFailures()
    {
        var email = await SignedUpEmailAsync();
        var address = NewAddress();
        for (var round = 0; round < 3; round++)
        {
            await Client.LogInFailsAsync(email, "wrong password!", From(address));
            await Client.LogInFailsAsync(email, "wrong password!", From(NewAddress()));
            await Client.LogInAsync(email, headers: From(address));
            Assert.Equal("0", await ExistsAsync(LogInThrottle.AccountKey(email)));
        }
        // Each round left its failure on the address; the successes were handed back.
        Assert.Equal("3", await CounterAsync(LogInThrottle.AddressKey(address)));
        AssertCountedInRedis(_service);
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
            return (await Client.LogInFailsAsync(email, $"guess number {i}", From(address))).StatusCode;
        }).ToList();
        start.SetResult();
        var codes = await Task.WhenAll(guesses);

        Assert.Equal(3, codes.Count(c => c == StatusCode.Unauthenticated));
        Assert.Equal(7, codes.Count(c => c == StatusCode.ResourceExhausted));
        Assert.Equal("3", await CounterAsync(LogInThrottle.AccountKey(email)));
        Assert.Equal("3", await CounterAsync(LogInThrottle.AddressKey(address)));
        AssertCountedInRedis(_service);
    }

    [Fact]
    public async Task AShedLogInIsWithdrawnFromBothCounters()
    {
        var shedding = await StartAsync(new Dictionary<string, string?>(ThrottleFixture.BehindProxies())
        {
            ["Auth:Passwords:MaxConcurrent"] = "1",
            ["Auth:Passwords:MaxQueued"] = "0",
            ["Auth:Passwords:MaxWait"] = "00:00:02",
        });
        var client = shedding.Client;
        var email = await SignedUpEmailAsync(client);
        var address = NewAddress();

        await using (await PasswordWorkTests.HoldTheSlotAsync(shedding.Host))
        {
            // More busy answers than the account (3) and address (5) limits allow failures.
            for (var i = 0; i < 6; i++)
            {
                (await client.LogInFailsAsync(email, headers: From(address)))
                    .AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.PasswordChecksBusy);
            }
        }

        Assert.Equal("0", await ExistsAsync(LogInThrottle.AddressKey(address)));
        Assert.Equal("0", await ExistsAsync(LogInThrottle.AccountKey(email)));
        Assert.Equal(email, (await client.LogInAsync(email, headers: From(address))).User.Email);
        AssertCountedInRedis(shedding);
    }
}
