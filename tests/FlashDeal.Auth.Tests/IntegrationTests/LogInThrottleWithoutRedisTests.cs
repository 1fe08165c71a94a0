using FlashDeal.Contracts.Auth.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Tests.IntegrationTests;

public sealed class RedisOutageFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(
        ThrottleFixture.Limits())
    {
        ["Logging:LogLevel:FlashDeal.Auth.Throttling"] = "Information",
        // Redis goes away here: the service's own timeout, not the counting tests' patient one.
        ["Auth:LogInThrottle:RedisTimeout"] = "00:00:01",
    };
}

[Collection(DataServers.Name)]
public sealed class LogInThrottleWithoutRedisTests(RedisOutageFixture service) : IClassFixture<RedisOutageFixture>
{
    private readonly AuthClient _client = service.Client;

    [Fact]
    public async Task LogInKeepsWorkingAndStaysThrottledWhileRedisIsDown()
    {
        var email = $"user-{Guid.NewGuid():N}@example.com";
        await _client.SignUpAsync(email);
        var from = new Metadata { { "x-forwarded-for", "192.0.2.10" } };
        await service.Redis.StopAsync();
        try
        {
            Assert.Equal(email, (await _client.LogInAsync(email, headers: from)).User.Email);
            for (var i = 0; i < 3; i++)
            {
                (await _client.LogInFailsAsync(email, "wrong password!", from))
                    .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
            }
            (await _client.LogInFailsAsync(email, AuthClient.Password, from))
                .AssertReason(StatusCode.ResourceExhausted, AuthErrorReason.TooManyAttempts);

            var warning = Assert.Single(service.Logs.Entries, e => e.Level == LogLevel.Warning
                && e.Message.Contains("Redis is unavailable for log-in throttling"));
            Assert.EndsWith("LogInThrottle", warning.Category);
        }
        finally
        {
            await service.Redis.StartAsync();
        }

        // Back on Redis, whose counters started empty: the account may log in again.
        await WaitUntilAsync(async () =>
        {
            try
            {
                await _client.LogInAsync(email, headers: from);
                return await service.Redis.ExecuteAsync("EXISTS", "{auth-login}:address:192.0.2.10") == "0";
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                return false;
            }
        });
        Assert.Contains(service.Logs.Entries, e => e.Message.Contains("counting in Redis again"));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        // Generous: the multiplexer reconnects once a second, later on a machine busy with other test runs.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("The condition did not hold within 30 s.");
            }
            await Task.Delay(100);
        }
    }
}
