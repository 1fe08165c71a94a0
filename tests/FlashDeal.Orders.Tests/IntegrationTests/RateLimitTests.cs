using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Grpc;
using FlashDeal.ServiceDefaults.RateLimiting;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>
/// The per-user limits of the orders service (docs/rate-limits.md) on a real host with a manual limiter clock:
/// place-order allows 2 per second with a burst of 3 here; the deal's own per-user limit is far away.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RateLimitTests(PostgresDatabase database, RedisServer redis) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new();
    private ConnectionMultiplexer _redis = null!;

    private IDatabase Redis => _redis.GetDatabase();

    public async Task InitializeAsync()
    {
        await redis.FlushAllAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
    }

    public Task DisposeAsync()
    {
        _redis.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PlacingOrdersFasterThanThePolicyIsResourceExhaustedWithReasonAndRetryInfo()
    {
        await using var host = await StartAsync();
        var deal = await new TestDeal { Stock = 100, PerUserLimit = 50 }.WriteAsync(Redis);
        using var refusals = new RefusalCounter();

        for (var i = 0; i < 3; i++)
        {
            await host.Client.PlaceAsync("ada", deal.DealId, $"burst-{i}");
        }
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.PlaceAsync("ada", deal.DealId, "one-too-many"));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        var info = e.GetDetail<ErrorInfo>()!;
        Assert.Equal((RateLimitErrors.Reason, "orders.flashdeal.dev"), (info.Reason, info.Domain));
        Assert.Equal(("place-order", "user", "1"),
            (info.Metadata["policy"], info.Metadata["partition"], info.Metadata["retry_after_seconds"]));
        Assert.Equal(TimeSpan.FromMilliseconds(500), e.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
        // Refused before the handler: the fourth call reserved nothing.
        Assert.Equal(97, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(1, refusals.Count("place-order", "user"));
    }

    [Fact]
    public async Task OneUserAtTheLimitLeavesOtherUsersAlone()
    {
        await using var host = await StartAsync();
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);
        for (var i = 0; i < 3; i++)
        {
            await host.Client.PlaceAsync("ada", deal.DealId, $"ada-{i}");
        }
        await Assertions.RefusedAsync(host.Client.PlaceAsync("ada", deal.DealId, "ada-4"), StatusCode.ResourceExhausted,
            RateLimitErrors.Reason);

        for (var i = 0; i < 3; i++)
        {
            await host.Client.PlaceAsync("grace", deal.DealId, $"grace-{i}");
        }
        // Another policy of the same user has its own bucket.
        await host.Client.ListAsync("ada", new ListMyOrdersRequest());
    }

    [Fact]
    public async Task PermitsComeBackAtThePolicyRate()
    {
        await using var host = await StartAsync();
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);
        for (var i = 0; i < 3; i++)
        {
            await host.Client.PlaceAsync("ada", deal.DealId, $"burst-{i}");
        }
        await Assertions.RefusedAsync(host.Client.PlaceAsync("ada", deal.DealId, "early"), StatusCode.ResourceExhausted,
            RateLimitErrors.Reason);

        _clock.Advance(TimeSpan.FromMilliseconds(499));
        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.PlaceAsync("ada", deal.DealId, "almost"));
        Assert.Equal(TimeSpan.FromMilliseconds(1), e.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await host.Client.PlaceAsync("ada", deal.DealId, "refilled");
        await Assertions.RefusedAsync(host.Client.PlaceAsync("ada", deal.DealId, "again"), StatusCode.ResourceExhausted,
            RateLimitErrors.Reason);

        _clock.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 3; i++)
        {
            await host.Client.PlaceAsync("ada", deal.DealId, $"after-a-pause-{i}");
        }
        await Assertions.RefusedAsync(host.Client.PlaceAsync("ada", deal.DealId, "burst-is-the-cap"),
            StatusCode.ResourceExhausted, RateLimitErrors.Reason);
    }

    [Fact]
    public async Task OverRestTheRefusalIs429WithRetryAfterAndTheReasonInJson()
    {
        await using var host = await StartAsync();
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage last = null!;
        for (var i = 0; i < 4; i++)
        {
            last?.Dispose();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/orders")
            {
                Content = JsonContent.Create(new { dealId = deal.DealId.ToString("D"), idempotencyKey = $"rest-{i}" }),
            };
            request.Headers.TryAddWithoutValidation("authorization", TestTokens.Shared.Bearer("rest-user"));
            last = await host.Http.SendAsync(request);
            statuses.Add(last.StatusCode);
        }

        using (last)
        {
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
            // 500 ms rounded up to whole seconds.
            Assert.Equal(TimeSpan.FromSeconds(1), last.Headers.RetryAfter?.Delta);
            using var json = JsonDocument.Parse(await last.Content.ReadAsStringAsync());
            Assert.Equal((int)StatusCode.ResourceExhausted, json.RootElement.GetProperty("code").GetInt32());
            var details = json.RootElement.GetProperty("details").EnumerateArray().ToList();
            var info = details.Single(d => d.GetProperty("@type").GetString()!.EndsWith("google.rpc.ErrorInfo"));
            Assert.Equal("RATE_LIMITED", info.GetProperty("reason").GetString());
            Assert.Equal("place-order", info.GetProperty("metadata").GetProperty("policy").GetString());
            var retry = details.Single(d => d.GetProperty("@type").GetString()!.EndsWith("google.rpc.RetryInfo"));
            Assert.Equal("0.500s", retry.GetProperty("retryDelay").GetString());
        }
    }

    [Fact]
    public async Task AFloodOfDistinctUsersStaysWithinTheKeyCap()
    {
        await using var host = await StartAsync(new() { ["RateLimits:MaxTrackedKeys"] = "20" });
        var limiter = host.Services.GetRequiredService<RateLimiter>();
        var refusedShared = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, 120), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) =>
            {
                try
                {
                    await host.Client.ListAsync($"flood-{i}", new ListMyOrdersRequest());
                }
                catch (RpcException e) when (e.GetDetail<ErrorInfo>()?.Metadata["partition"] == "shared")
                {
                    Interlocked.Increment(ref refusedShared);
                }
                Assert.InRange(limiter.TrackedKeys, 0, 20);
            });

        Assert.Equal(20, limiter.TrackedKeys);
        // 20 users got their own bucket; the other 100 shared one orders-read bucket of 40.
        Assert.Equal(100 - 40, refusedShared);

        // Once the buckets have filled up again, the table makes room for new users.
        _clock.Advance(TimeSpan.FromSeconds(10));
        await host.Client.ListAsync("newcomer", new ListMyOrdersRequest());
        Assert.Equal(1, limiter.TrackedKeys);
    }

    [Fact]
    public async Task WithLimitsDisabledNothingIsLimited()
    {
        await using var host = await StartAsync(new() { ["RateLimits:Enabled"] = "false" });
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => host.Client.PlaceAsync("ada", deal.DealId, $"free-{i}")));

        Assert.Null(host.Services.GetService<RateLimiter>());
        Assert.Equal(80, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task ConfigurationOverridesTheAttributeOfAMethod()
    {
        await using var host = await StartAsync(new() { ["RateLimits:Methods:PlaceOrder"] = "none" });
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);

        for (var i = 0; i < 10; i++)
        {
            await host.Client.PlaceAsync("ada", deal.DealId, $"unlimited-{i}");
        }
    }

    [Fact]
    public async Task AnUnknownPolicyFailsAtStartUp()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(new() { ["RateLimits:Methods:flashdeal.orders.v1.OrderService.PlaceOrder"] = "no-such-policy" }));

        Assert.Contains("RateLimits:Policies:no-such-policy", error.Message);
    }

    [Fact]
    public async Task ATrustedProxyThatIsNoAddressFailsAtStartUp()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(new() { ["RateLimits:TrustedProxies:0"] = "edge.internal" }));

        Assert.Contains("RateLimits:TrustedProxies", error.Message);
    }

    private Task<OrdersHost> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:Policies:place-order:PermitsPerSecond"] = "2",
            ["RateLimits:Policies:place-order:Burst"] = "3",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }
        return OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString, all,
            builder => builder.Services.AddKeyedSingleton<TimeProvider>(RateLimiter.ClockKey, _clock));
    }

    /// <summary>Counts flashdeal.rate_limit.refused measurements by policy and partition.</summary>
    private sealed class RefusalCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Policy, string Partition)> _seen = [];

        public RefusalCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "flashdeal.rate_limit.refused")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? policy = null, partition = null;
                foreach (var tag in tags)
                {
                    policy = tag.Key == "flashdeal.rate_limit.policy" ? (string?)tag.Value : policy;
                    partition = tag.Key == "flashdeal.rate_limit.partition" ? (string?)tag.Value : partition;
                }
                lock (_seen)
                {
                    for (var i = 0; i < value; i++)
                    {
                        _seen.Add((policy!, partition!));
                    }
                }
            });
            _listener.Start();
        }

        public int Count(string policy, string partition)
        {
            lock (_seen)
            {
                return _seen.Count(s => s == (policy, partition));
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
