using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FlashDeal.TestInfrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace FlashDeal.Security.Tests.IntegrationTests;

/// <summary>
/// Forged and broken tokens against a real service over gRPC and REST: every one ends UNAUTHENTICATED / 401 with its
/// reason in ErrorInfo (never a 500, never UNAVAILABLE, never an HTML page), and the connection stays good for the next
/// call. A valid token reaches the handler.
/// </summary>
[Collection(DataServers.Name)]
public sealed class TokenAttackTests(PostgresServer postgres, RedisServer redis) : IAsyncLifetime
{
    private SecuredService _service = null!;

    public async Task InitializeAsync() => _service = await SecuredService.StartAsync(postgres, redis);

    public async Task DisposeAsync() => await _service.DisposeAsync();

    public static TheoryData<string> Attacks => new(
    [
        "alg-none", "alg-none-keeping-signature", "hs256-with-public-key", "rs256", "changed-claims", "foreign-key-same-kid",
        "jwk-header-injection", "jku-header-injection", "kid-path-traversal", "unknown-kid", "jwe-shape", "not-yet-valid",
        "wrong-issuer", "wrong-audience", "missing-exp", "oversized-64k", "garbage", "basic-scheme", "empty-bearer",
    ]);

    private string Forge(string attack)
    {
        var service = _service;
        var now = DateTimeOffset.UtcNow;
        var parameters = service.Key.ExportParameters(false);
        return attack switch
        {
            "alg-none" => "Bearer " + Jws.Encode(Jws.Header("none", "key-1")) + "." +
                          Jws.Encode(Jws.Payload(now, SecuredService.Options, role: Roles.Admin)) + ".",
            "alg-none-keeping-signature" => "Bearer " + Jws.Encode(Jws.Header("none", "key-1")) + "." +
                          Jws.Encode(Jws.Payload(now, SecuredService.Options)) + "." + service.Token().Split('.')[2],
            "hs256-with-public-key" => "Bearer " + Jws.SignHs256(Jws.Header("HS256", "key-1"),
                Jws.Payload(now, SecuredService.Options, role: Roles.Admin), service.Key.ExportSubjectPublicKeyInfo()),
            "rs256" => "Bearer " + RsaSigned(now),
            "changed-claims" => "Bearer " + ChangeClaims(service.Token()),
            "foreign-key-same-kid" => "Bearer " + service.Token(key: ECDsa.Create(ECCurve.NamedCurves.nistP256)),
            "jwk-header-injection" => "Bearer " + EmbeddedKey("jwk"),
            "jku-header-injection" => "Bearer " + EmbeddedKey("jku"),
            "kid-path-traversal" => "Bearer " + service.Token(kid: "../../../../etc/passwd"),
            "unknown-kid" => "Bearer " + service.Token(kid: "key-9"),
            "jwe-shape" => "Bearer " + Jws.Encode(new JsonObject { ["alg"] = "RSA-OAEP", ["enc"] = "A256GCM", ["zip"] = "DEF" }) +
                           ".a2V5.aXY.Y2lwaGVy.dGFn",
            "not-yet-valid" => "Bearer " + service.Token(p => p["nbf"] = now.AddMinutes(10).ToUnixTimeSeconds()),
            "wrong-issuer" => "Bearer " + service.Token(p => p["iss"] = "https://evil.test"),
            "wrong-audience" => "Bearer " + service.Token(p => p["aud"] = "another-api"),
            "missing-exp" => "Bearer " + service.Token(p => p.Remove("exp")),
            "oversized-64k" => "Bearer " + service.Token(p => p["padding"] = new string('x', 64 * 1024)),
            "garbage" => "Bearer abc.def.ghi",
            "basic-scheme" => "Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes("admin:admin")),
            "empty-bearer" => "Bearer ",
            _ => throw new ArgumentOutOfRangeException(nameof(attack), attack, null),
        };

        string RsaSigned(DateTimeOffset at)
        {
            using var rsa = RSA.Create(2048);
            var input = Jws.Encode(Jws.Header("RS256", "key-1")) + "." + Jws.Encode(Jws.Payload(at, SecuredService.Options));
            var signature = rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            return input + "." + System.Buffers.Text.Base64Url.EncodeToString(signature);
        }

        string ChangeClaims(string token)
        {
            var parts = token.Split('.');
            var payload = Jws.DecodeSegment(parts[1]);
            payload["sub"] = "someone-else";
            payload["role"] = Roles.Admin;
            return $"{parts[0]}.{Jws.Encode(payload)}.{parts[2]}";
        }

        string EmbeddedKey(string how)
        {
            using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return service.Token(key: attacker, header: h =>
            {
                if (how == "jwk")
                {
                    h["jwk"] = JsonNode.Parse(JsonFormatter.Default.Format(new SigningKey("key-1", attacker).PublicKey));
                }
                else
                {
                    h["jku"] = service.Jwks.JwksUrl.ToString().Replace("jwks.json", "attacker.json", StringComparison.Ordinal);
                }
            });
        }
    }

    [Fact]
    public async Task ValidTokenReachesTheHandlerOverGrpcAndRest()
    {
        var bearer = "Bearer " + _service.Token();
        Assert.Equal(StatusCode.OK, (await _service.GrpcAsync(bearer)).Code);
        Assert.Equal(200, (await _service.RestAsync(bearer)).HttpStatus);
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task ForgedTokenIsUnauthenticatedOverGrpc(string attack)
    {
        var outcome = await _service.GrpcAsync(Forge(attack));

        Assert.Equal(StatusCode.Unauthenticated, outcome.Code);
        Assert.Equal("ACCESS_TOKEN_INVALID", outcome.Reason);
        // And the channel is fine for the next caller.
        Assert.Equal(StatusCode.OK, (await _service.GrpcAsync("Bearer " + _service.Token())).Code);
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task ForgedTokenIsUnauthorizedOverRest(string attack)
    {
        using var http = new HttpClient { BaseAddress = _service.Host.RestAddress };
        var outcome = await _service.RestAsync(Forge(attack), http);

        Assert.Equal(401, outcome.HttpStatus);
        Assert.Equal(StatusCode.Unauthenticated, outcome.Code);
        Assert.Equal("ACCESS_TOKEN_INVALID", outcome.Reason);
        Assert.Contains("invalid_token", outcome.WwwAuthenticate);
        // The same keep-alive connection serves the next request.
        Assert.Equal(200, (await _service.RestAsync("Bearer " + _service.Token(), http)).HttpStatus);
    }

    [Fact]
    public async Task ExpiredTokenSaysSoOverGrpcAndRest()
    {
        var expired = "Bearer " + _service.Token(p =>
        {
            var past = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds();
            p["iat"] = past - 300;
            p["nbf"] = past - 300;
            p["exp"] = past;
        });

        var grpc = await _service.GrpcAsync(expired);
        var rest = await _service.RestAsync(expired);

        Assert.Equal((StatusCode.Unauthenticated, "ACCESS_TOKEN_EXPIRED"), (grpc.Code, grpc.Reason));
        Assert.Equal((401, "ACCESS_TOKEN_EXPIRED"), (rest.HttpStatus, rest.Reason));
    }

    [Fact]
    public async Task MissingTokenSaysSoOverGrpcAndRest()
    {
        var grpc = await _service.GrpcAsync(null);
        var rest = await _service.RestAsync(null);

        Assert.Equal((StatusCode.Unauthenticated, "ACCESS_TOKEN_MISSING"), (grpc.Code, grpc.Reason));
        Assert.Equal((401, "ACCESS_TOKEN_MISSING"), (rest.HttpStatus, rest.Reason));
        Assert.Equal("Bearer", rest.WwwAuthenticate);
    }

    [Fact]
    public async Task OversizedTokenIsRefusedWithItsReasonNotAConnectionError()
    {
        var huge = "Bearer " + new string('a', 64 * 1024);

        var grpc = await _service.GrpcAsync(huge);
        var rest = await _service.RestAsync(huge);

        Assert.Equal((StatusCode.Unauthenticated, "ACCESS_TOKEN_INVALID"), (grpc.Code, grpc.Reason));
        Assert.Contains("8192 characters", grpc.Message);
        Assert.Equal((401, "ACCESS_TOKEN_INVALID"), (rest.HttpStatus, rest.Reason));
    }
}
