using System.Security.Cryptography;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Security.Tests.IntegrationTests;

/// <summary>
/// Where a service's trust comes from: auth's JWKS over HTTP (JwtBearer with the JWKS-only configuration), fetched once
/// and kept, fetched again (and the call validated again) when a token names a new key (a rotation), at most once per
/// JwksMinRefreshInterval, and never the caller's fault when it cannot be read.
/// </summary>
[Collection(DataServers.Name)]
public sealed class JwksKeyTests(PostgresServer postgres, RedisServer redis)
{
    [Fact]
    public async Task KeysAreFetchedOnceForManyCalls()
    {
        await using var service = await SecuredService.StartAsync(postgres, redis);

        for (var i = 0; i < 20; i++)
        {
            // Each token is new (its own jti): the key set, not the validated-token cache, does the work.
            Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);
        }

        Assert.Equal(1, service.Jwks.Fetches);
    }

    [Fact]
    public async Task ANewKeyInTheJwksIsAcceptedOnTheFirstCallsThatNameIt()
    {
        await using var service = await SecuredService.StartAsync(postgres, redis);
        Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);

        // Auth publishes a new key and signs with it before this service's periodic refresh (5 min) has run.
        using var next = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        service.Jwks.Publish(new SigningKey("key-1", service.Key), new SigningKey("key-2", next));
        var first = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => i % 2 == 0
            ? service.GrpcAsync("Bearer " + service.Token(kid: "key-2", key: next))
            : service.RestAsync("Bearer " + service.Token(kid: "key-2", key: next))));

        // The calls waited for one fresh JWKS instead of being refused while it was fetched.
        Assert.All(first, outcome => Assert.True(outcome.Code == StatusCode.OK, $"{outcome}"));
        Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);
        Assert.InRange(service.Jwks.Fetches, 2, 4);
    }

    [Fact]
    public async Task TokensWithMadeUpKidsCannotMakeTheServiceHammerTheJwks()
    {
        await using var service = await SecuredService.StartAsync(postgres, redis,
            settings: new Dictionary<string, string?> { ["Auth:JwksMinRefreshInterval"] = "01:00:00" });
        Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40)
            .Select(i => service.GrpcAsync("Bearer " + service.Token(kid: $"made-up-{i}"))));

        Assert.All(outcomes, outcome => Assert.Equal(StatusCode.Unauthenticated, outcome.Code));
        // The first fetch, one awaited refresh, and at most one background refresh per key set the library asks for.
        Assert.InRange(service.Jwks.Fetches, 2, 4);
    }

    [Fact]
    public async Task KeysOnceFetchedSurviveAJwksOutage()
    {
        await using var service = await SecuredService.StartAsync(postgres, redis);
        Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);

        await service.Jwks.StopAsync();

        Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);
        Assert.Equal(200, (await service.RestAsync("Bearer " + service.Token())).HttpStatus);
    }

    [Fact]
    public async Task WithoutAnyKeysTheCallerIsNotBlamed()
    {
        await using var service = await SecuredService.StartAsync(postgres, redis, jwksUp: false);

        var grpc = await service.GrpcAsync("Bearer " + service.Token());
        var rest = await service.RestAsync("Bearer " + service.Token());

        // Auth unreachable since start-up: retryable, and the client keeps its token.
        Assert.True(grpc.Code == StatusCode.Unavailable, $"{grpc}");
        Assert.Null(grpc.Reason);
        Assert.Equal(503, rest.HttpStatus);
    }
}
