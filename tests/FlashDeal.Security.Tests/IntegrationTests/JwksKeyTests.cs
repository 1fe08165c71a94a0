using System.Security.Cryptography;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Security.Tests.IntegrationTests;

/// <summary>
/// Where a service's trust comes from: auth's JWKS over HTTP (JwtBearer with the JWKS-only configuration), fetched once
/// and kept, refreshed when a token names a new key (a rotation), and never the caller's fault when it cannot be read.
/// </summary>
[Collection(DataServers.Name)]
public sealed class JwksKeyTests(PostgresServer postgres, RedisServer redis)
{
    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 30 s: {what}");
            await Task.Delay(200);
        }
    }

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
    public async Task ANewKeyInTheJwksIsPickedUpWhenATokenNamesIt()
    {
        await using var service = await SecuredService.StartAsync(postgres, redis);
        Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);

        // Rotation, step 2: auth publishes old and new key and signs with the new one.
        using var next = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        service.Jwks.Publish(new SigningKey("key-1", service.Key), new SigningKey("key-2", next));
        var rotated = "Bearer " + service.Token(kid: "key-2", key: next);

        await Eventually(async () => (await service.GrpcAsync(rotated)).Code == StatusCode.OK, "token of the new key accepted");
        Assert.Equal(200, (await service.RestAsync(rotated)).HttpStatus);
        Assert.Equal(StatusCode.OK, (await service.GrpcAsync("Bearer " + service.Token())).Code);
        // At most one fetch per refresh interval, however many calls named the new kid meanwhile.
        Assert.InRange(service.Jwks.Fetches, 2, 40);
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
