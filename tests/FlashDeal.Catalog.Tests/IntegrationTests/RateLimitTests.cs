using System.Net;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>
/// Anonymous public reads are limited per client address (docs/rate-limits.md). The host trusts loopback as its edge, so
/// an X-Forwarded-For sent from here names the client. catalog-read allows a burst of 2 and refills once a minute.
/// Each test uses its own documentation addresses, so the tests of the class do not share buckets.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RateLimitTests(RateLimitTests.Fixture catalog) : IClassFixture<RateLimitTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings => LimitedReads;
    }

    public static readonly Dictionary<string, string?> LimitedReads = new()
    {
        ["RateLimits:Enabled"] = "true",
        ["RateLimits:Policies:catalog-read:PermitsPerSecond"] = "0.0166667",
        ["RateLimits:Policies:catalog-read:Burst"] = "2",
        ["RateLimits:Policies:catalog-watch:PermitsPerSecond"] = "0.0166667",
        ["RateLimits:Policies:catalog-watch:Burst"] = "1",
    };

    [Fact]
    public async Task AnonymousReadsAreLimitedPerClientAddress()
    {
        var product = await catalog.CreateProductAsync();

        await ReadAsync(product, forwardedFor: "203.0.113.1");
        await ReadAsync(product, forwardedFor: "203.0.113.1");
        var e = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(product, forwardedFor: "203.0.113.1"));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        var info = e.GetDetail<ErrorInfo>()!;
        Assert.Equal(("RATE_LIMITED", "catalog.flashdeal.dev", "catalog-read", "address"),
            (info.Reason, info.Domain, info.Metadata["policy"], info.Metadata["partition"]));
        Assert.InRange(e.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromSeconds(55), TimeSpan.FromSeconds(60));
        // Another client behind the same edge has its own bucket.
        await ReadAsync(product, forwardedFor: "203.0.113.2");
    }

    [Fact]
    public async Task HopsTheClientWroteLeftOfTheEdgeAreIgnored()
    {
        var product = await catalog.CreateProductAsync();

        // nginx appends the address it saw; whatever the client put in front cannot buy it a fresh bucket.
        await ReadAsync(product, forwardedFor: "1.1.1.1, 203.0.113.10");
        await ReadAsync(product, forwardedFor: "2.2.2.2, 203.0.113.10");
        await RateLimitedAsync(ReadAsync(product, forwardedFor: "3.3.3.3, 203.0.113.10"));
    }

    [Fact]
    public async Task ASignedInReaderIsLimitedAsTheUserNotAsTheAddress()
    {
        var product = await catalog.CreateProductAsync();
        await ReadAsync(product, forwardedFor: "203.0.113.20");
        await ReadAsync(product, forwardedFor: "203.0.113.20");
        await RateLimitedAsync(ReadAsync(product, forwardedFor: "203.0.113.20"));

        await ReadAsync(product, forwardedFor: "203.0.113.20", token: catalog.CustomerToken);
    }

    [Fact]
    public async Task OverRestAnAnonymousReaderGets429WithRetryAfter()
    {
        var product = await catalog.CreateProductAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/products/{product.ProductId}");
            request.Headers.Add("X-Forwarded-For", "203.0.113.30");
            using var response = await catalog.Host.Http.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.RetryAfter?.Delta);
                var error = await CatalogFixture.ReadErrorAsync(response);
                Assert.Equal((429, (int)StatusCode.ResourceExhausted, "RATE_LIMITED"), (error.HttpStatus, error.Code, error.Reason));
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task OpeningAStreamTakesOnePermit()
    {
        var options = CatalogFixture.Options(null);
        options.Headers!.Add("x-forwarded-for", "203.0.113.80");
        var unknownDeal = new WatchDealRequest { DealId = Guid.NewGuid().ToString() };

        // The first watch reaches the handler (which knows no such deal); the second is refused before it.
        using (var first = catalog.Client.WatchDeal(unknownDeal, options))
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => first.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.NotFound, e.StatusCode);
        }
        using var second = catalog.Client.WatchDeal(unknownDeal, options);
        await RateLimitedAsync(second.ResponseStream.MoveNext(CancellationToken.None));
    }

    internal static async Task RateLimitedAsync(Task call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal(RateLimitingExtensions.Reason, e.GetDetail<ErrorInfo>()?.Reason);
    }

    internal static async Task ReadAsync(CatalogFixture catalog, Product product, string? forwardedFor,
        string? token = null)
    {
        var options = CatalogFixture.Options(token);
        if (forwardedFor is not null)
        {
            options.Headers!.Add("x-forwarded-for", forwardedFor);
        }
        using var call = catalog.Client.GetProductAsync(
            new GetProductRequest { ProductId = product.ProductId }, options);
        await call;
    }

    private Task ReadAsync(Product product, string? forwardedFor, string? token = null) =>
        ReadAsync(catalog, product, forwardedFor, token);
}

/// <summary>Behind no trusted proxy (only 192.0.2.1 is trusted), X-Forwarded-For from the loopback peer is ignored.</summary>
[Collection(DataServers.Name)]
public sealed class UntrustedPeerRateLimitTests(UntrustedPeerRateLimitTests.Fixture catalog)
    : IClassFixture<UntrustedPeerRateLimitTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings =>
            new Dictionary<string, string?>(RateLimitTests.LimitedReads) { ["RateLimits:TrustedProxies:0"] = "192.0.2.1" };
    }

    [Fact]
    public async Task ForwardedForFromAnUntrustedPeerIsIgnored()
    {
        var product = await catalog.CreateProductAsync();

        // Three "different" clients, one real peer (127.0.0.1): one bucket.
        await RateLimitTests.ReadAsync(catalog, product, forwardedFor: "203.0.113.41");
        await RateLimitTests.ReadAsync(catalog, product, forwardedFor: "203.0.113.42");
        await RateLimitTests.RateLimitedAsync(RateLimitTests.ReadAsync(catalog, product, forwardedFor: "203.0.113.43"));
    }
}
