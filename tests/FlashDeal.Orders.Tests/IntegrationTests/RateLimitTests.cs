using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>
/// The per-user limits of the orders service (docs/rate-limits.md) on a real host with its token buckets, which run on
/// the real clock: place-order gets a burst of 3 and one permit per 64 s here, so nothing comes
/// back while a test runs unless the test asks for a faster rate. The deal's own per-user limit is far away.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RateLimitTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private const string OnePer64Seconds = "0.015625";
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(64);

    private IDatabase Redis => Connection.GetDatabase();

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
        Assert.Equal((RateLimitingExtensions.Reason, "orders.flashdeal.dev"), (info.Reason, info.Domain));
        Assert.Equal(("place-order", "user", "64"),
            (info.Metadata["policy"], info.Metadata["partition"], info.Metadata["retry_after_seconds"]));
        // The time until the next permit: a whole period, less what the bucket refilled since the burst.
        Assert.InRange(e.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), Period - TimeSpan.FromSeconds(10), Period);
        // Refused before the handler: the fourth call reserved nothing.
        Assert.Equal(97, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(1, refusals.Count("place-order", "user"));
    }

    [Fact]
    public async Task ClaimingCouponsFasterThanThePolicyIsRateLimitedInTheCouponDomainOnBothTransports()
    {
        await using var host = await StartAsync(new()
        {
            ["RateLimits:Policies:claim-coupon:PermitsPerSecond"] = OnePer64Seconds,
            ["RateLimits:Policies:claim-coupon:Burst"] = "1",
        });
        var campaign = await host.Coupons.CreateAsync(CouponClient.NewCampaign(total: 10));
        await host.Coupons.ClaimRawAsync("ada", campaign.CampaignId, "first");

        var e = await Assert.ThrowsAsync<RpcException>(() => host.Coupons.ClaimRawAsync("ada", campaign.CampaignId, "again"));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        var info = e.GetDetail<ErrorInfo>()!;
        // CouponService's domain, as coupon_errors.proto names it, though the orders process serves it.
        Assert.Equal((RateLimitingExtensions.Reason, "coupons.flashdeal.dev", "claim-coupon"),
            (info.Reason, info.Domain, info.Metadata["policy"]));

        using var rest = new HttpRequestMessage(HttpMethod.Post, $"/v1/coupon-campaigns/{campaign.CampaignId}:claim")
        {
            Content = JsonContent.Create(new { idempotencyKey = "over-rest" }),
        };
        rest.Headers.TryAddWithoutValidation("authorization", TestTokens.Shared.Bearer("ada"));
        using var response = await host.Http.SendAsync(rest);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var restInfo = json.RootElement.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString()!.EndsWith("google.rpc.ErrorInfo"));
        Assert.Equal(("RATE_LIMITED", "coupons.flashdeal.dev"),
            (restInfo.GetProperty("reason").GetString(), restInfo.GetProperty("domain").GetString()));
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
            RateLimitingExtensions.Reason);

        for (var i = 0; i < 3; i++)
        {
            await host.Client.PlaceAsync("grace", deal.DealId, $"grace-{i}");
        }
        // Another policy of the same user has its own bucket.
        await host.Client.ListAsync("ada", new ListMyOrdersRequest());
    }

    [Fact]
    public async Task EveryUserOfAFloodHasABucketOfTheirOwn()
    {
        await using var host = await StartAsync();
        var deal = await new TestDeal { Stock = 1000, PerUserLimit = 50 }.WriteAsync(Redis);
        var accepted = new int[40];
        var refused = new int[40];

        await Parallel.ForEachAsync(Enumerable.Range(0, 40 * 4), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) =>
            {
                var user = i % 40;
                try
                {
                    await host.Client.PlaceAsync($"flood-{user}", deal.DealId, $"k{i}");
                    Interlocked.Increment(ref accepted[user]);
                }
                catch (RpcException e) when (e.GetDetail<ErrorInfo>()?.Reason == RateLimitingExtensions.Reason)
                {
                    Interlocked.Increment(ref refused[user]);
                }
            });

        Assert.All(accepted, a => Assert.Equal(3, a));
        Assert.All(refused, r => Assert.Equal(1, r));
        Assert.Equal(1000 - 40 * 3, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task PermitsComeBackAtThePolicyRateUpToTheBurst()
    {
        await using var host = await StartAsync(new() { ["RateLimits:Policies:place-order:PermitsPerSecond"] = "2" });
        var deal = await new TestDeal { Stock = 1000, PerUserLimit = 500 }.WriteAsync(Redis);
        var key = 0;
        async Task<bool> PlaceAsync()
        {
            try
            {
                await host.Client.PlaceAsync("ada", deal.DealId, $"k{Interlocked.Increment(ref key)}");
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                Assert.InRange(e.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromTicks(1),
                    TimeSpan.FromMilliseconds(500));
                return false;
            }
        }

        var accepted = 0;
        while (await PlaceAsync())
        {
            Assert.True(++accepted < 20, "the bucket never ran dry");
        }
        Assert.True(accepted >= 3, $"a fresh bucket holds the burst of 3, {accepted} accepted");
        await Eventually.HoldsAsync(PlaceAsync, "a permit comes back");

        // Eight periods of quiet refill the bucket to its burst and no further: of a volley sent at once, the burst gets
        // through plus what came back while the volley was under way.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var clock = Stopwatch.StartNew();
        var volley = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => PlaceAsync()));
        var refilled = (int)Math.Ceiling(clock.Elapsed / TimeSpan.FromMilliseconds(500)) + 1;
        Assert.InRange(volley.Count(ok => ok), 3, 3 + refilled);
        Assert.Contains(false, volley);
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
            // Whole seconds, rounded up: the time until the next permit is a little under a period.
            Assert.Equal(Period, last.Headers.RetryAfter?.Delta);
            using var json = JsonDocument.Parse(await last.Content.ReadAsStringAsync());
            Assert.Equal((int)StatusCode.ResourceExhausted, json.RootElement.GetProperty("code").GetInt32());
            var details = json.RootElement.GetProperty("details").EnumerateArray().ToList();
            var info = details.Single(d => d.GetProperty("@type").GetString()!.EndsWith("google.rpc.ErrorInfo"));
            Assert.Equal("RATE_LIMITED", info.GetProperty("reason").GetString());
            Assert.Equal("place-order", info.GetProperty("metadata").GetProperty("policy").GetString());
            var retry = details.Single(d => d.GetProperty("@type").GetString()!.EndsWith("google.rpc.RetryInfo"));
            var delay = retry.GetProperty("retryDelay").GetString()!;
            Assert.EndsWith("s", delay);
            Assert.InRange(double.Parse(delay[..^1], System.Globalization.CultureInfo.InvariantCulture), 54, 64);
        }
    }

    [Fact]
    public async Task AnAddressPolicyCountsCallersBehindATrustedProxyByTheirForwardedAddress()
    {
        await using var host = await StartAsync(new()
        {
            ["RateLimits:Policies:place-order:Partition"] = "Address",
            ["RateLimits:Policies:place-order:Burst"] = "2",
        });
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);
        Task PlaceAsync(string user, string forwardedFor) => host.Client.Grpc.PlaceOrderAsync(
            new PlaceOrderRequest { DealId = deal.DealId.ToString("D"), IdempotencyKey = Guid.NewGuid().ToString("N") },
            host.Client.Options(user, extra: ("x-forwarded-for", forwardedFor))).ResponseAsync;

        // The test connects from loopback, a trusted proxy by default: the forwarded address is the caller.
        await PlaceAsync("ada", "203.0.113.7");
        await PlaceAsync("bob", "203.0.113.7");
        await Assertions.RefusedAsync(PlaceAsync("cy", "203.0.113.7"), StatusCode.ResourceExhausted, RateLimitingExtensions.Reason);
        // Read from the right: what the client wrote left of the hop our proxy added does not make it someone else.
        await Assertions.RefusedAsync(PlaceAsync("cy", "198.51.100.1, 203.0.113.7"), StatusCode.ResourceExhausted,
            RateLimitingExtensions.Reason);
        await PlaceAsync("ada", "203.0.113.8");

        // IPv6 callers count by their /64.
        await PlaceAsync("ada", "2001:db8:1:2::1");
        await PlaceAsync("ada", "2001:db8:1:2::ffff");
        await Assertions.RefusedAsync(PlaceAsync("ada", "2001:db8:1:2:aaaa::1"), StatusCode.ResourceExhausted,
            RateLimitingExtensions.Reason);
        await PlaceAsync("ada", "2001:db8:1:3::1");
    }

    [Fact]
    public async Task XForwardedForFromAPeerThatIsNoTrustedProxyIsIgnored()
    {
        await using var host = await StartAsync(new()
        {
            ["RateLimits:Policies:place-order:Partition"] = "Address",
            ["RateLimits:Policies:place-order:Burst"] = "2",
            ["RateLimits:TrustedProxies:0"] = "10.0.0.0/8",
        });
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);
        Task PlaceAsync(string forwardedFor) => host.Client.Grpc.PlaceOrderAsync(
            new PlaceOrderRequest { DealId = deal.DealId.ToString("D"), IdempotencyKey = Guid.NewGuid().ToString("N") },
            host.Client.Options("ada", extra: ("x-forwarded-for", forwardedFor))).ResponseAsync;

        await PlaceAsync("203.0.113.7");
        await PlaceAsync("203.0.113.8");
        await Assertions.RefusedAsync(PlaceAsync("203.0.113.9"), StatusCode.ResourceExhausted, RateLimitingExtensions.Reason);
    }

    [Fact]
    public async Task WithLimitsDisabledNothingIsLimited()
    {
        await using var host = await StartAsync(new() { ["RateLimits:Enabled"] = "false" });
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => host.Client.PlaceAsync("ada", deal.DealId, $"free-{i}")));

        Assert.Null(host.Services.GetService<RateLimitRefusals>());
        Assert.Equal(80, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task ConfigurationOverridesThePolicyOfTheAttribute()
    {
        await using var host = await StartAsync(new() { ["RateLimits:Policies:place-order:Burst"] = "10" });
        var deal = await new TestDeal { PerUserLimit = 50 }.WriteAsync(Redis);

        for (var i = 0; i < 10; i++)
        {
            await host.Client.PlaceAsync("ada", deal.DealId, $"burst-{i}");
        }
        await Assertions.RefusedAsync(host.Client.PlaceAsync("ada", deal.DealId, "eleventh"), StatusCode.ResourceExhausted,
            RateLimitingExtensions.Reason);
    }

    [Fact]
    public async Task AnInvalidPolicyFailsAtStartUp()
    {
        var error = Assert.IsType<InvalidOperationException>(await OrdersHost.FailedStartAsync(database.ConnectionString,
            Server.ConnectionString, Settings(new() { ["RateLimits:Policies:place-order:PermitsPerSecond"] = "0" })));

        Assert.Contains("RateLimits:Policies:place-order", error.Message);
    }

    [Fact]
    public async Task ATrustedProxyThatIsNoAddressFailsAtStartUp()
    {
        var error = Assert.IsType<InvalidOperationException>(await OrdersHost.FailedStartAsync(database.ConnectionString,
            Server.ConnectionString, Settings(new() { ["RateLimits:TrustedProxies:0"] = "edge.internal" })));

        Assert.Contains("RateLimits:TrustedProxies", error.Message);
    }

    private Task<OrdersHost> StartAsync(Dictionary<string, string?>? settings = null) =>
        OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString, Settings(settings));

    private static Dictionary<string, string?> Settings(Dictionary<string, string?>? settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:Policies:place-order:PermitsPerSecond"] = OnePer64Seconds,
            ["RateLimits:Policies:place-order:Burst"] = "3",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }
        return all;
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
