using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.ServiceDefaults;
using Google.Protobuf;
using Google.Rpc;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Security.Tests.UnitTests;

/// <summary>
/// The token handler JwtBearer runs in every service (IdentityModel's JsonWebTokenHandler with FlashDeal's rules),
/// attacked with hand-forged tokens. Each refusal is checked the way a caller sees it: the ErrorInfo reason and the
/// fixed message <see cref="AuthErrors"/> derives from the failure.
/// </summary>
public sealed class AccessTokenHandlerTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly AuthOptions _options = new() { Issuer = "https://auth.test", Audience = "flashdeal-test" };
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly SigningKey _key;
    private int _keyLookups;

    public AccessTokenHandlerTests() => _key = new SigningKey("key-1", _ecdsa);

    private DateTimeOffset Now => _time.GetUtcNow();

    private string Valid(Action<JsonObject>? change = null, string kid = "key-1")
    {
        var payload = Jws.Payload(Now, _options);
        change?.Invoke(payload);
        return Jws.SignEs256(Jws.Header("ES256", kid), payload, _ecdsa);
    }

    private AccessTokenHandler Handler(AuthOptions? options = null) => new(options ?? _options, _time);

    /// <summary>The service's parameters with the test key as the only trusted key (counted per lookup).</summary>
    private TokenValidationParameters Parameters(AuthOptions? options = null, params SigningKey[] keys)
    {
        var parameters = AccessTokenHandler.Parameters(options ?? _options, _time);
        var trusted = (keys.Length == 0 ? [_key] : keys).Select(k => k.SecurityKey).ToList();
        parameters.IssuerSigningKeyResolver = (_, _, kid, _) =>
        {
            Interlocked.Increment(ref _keyLookups);
            return trusted.Where(k => k.KeyId == kid);
        };
        return parameters;
    }

    private Task<TokenValidationResult> Validate(string token, AccessTokenHandler? handler = null,
        TokenValidationParameters? parameters = null) =>
        (handler ?? Handler()).ValidateTokenAsync(token, parameters ?? Parameters());

    private async Task AssertRefused(string token, string reason, string message, AccessTokenHandler? handler = null,
        TokenValidationParameters? parameters = null)
    {
        var result = await Validate(token, handler, parameters);
        Assert.False(result.IsValid, $"token was accepted, expected {reason}: {message}");
        var status = AuthErrors.Unauthenticated(result.Exception);
        Assert.Equal((int)Grpc.Core.StatusCode.Unauthenticated, status.Code);
        Assert.Equal(reason, status.Details.Single().Unpack<ErrorInfo>().Reason);
        Assert.Equal(message, status.Message);
    }

    private Task AssertInvalid(string token, string message) => AssertRefused(token, "ACCESS_TOKEN_INVALID", message);

    private static AuthenticatedUser? User(TokenValidationResult result) =>
        AuthenticatedUser.FromPrincipal(new System.Security.Claims.ClaimsPrincipal(result.ClaimsIdentity));

    [Fact]
    public async Task ValidTokenIsAcceptedWithItsUser()
    {
        var result = await Validate(Valid(p => p["role"] = Roles.Admin));

        Assert.True(result.IsValid, result.Exception?.ToString());
        Assert.Equal(new AuthenticatedUser("user-1", "ada@example.com", Role.Admin), User(result));
    }

    [Fact]
    public async Task TokenIssuedByTheIssuerIsAccepted()
    {
        var issuer = new AccessTokenIssuer(new SigningKeySet([_key], "key-1"), _options, _time);
        var token = issuer.Issue("user-7", "bo@example.com", Role.Customer);

        var result = await Validate(token.Token);

        Assert.Equal(new AuthenticatedUser("user-7", "bo@example.com", Role.Customer), User(result));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("NONE")]
    public async Task UnsignedTokenWithAlgNoneIsRefused(string alg)
    {
        var unsigned = Jws.Encode(Jws.Header(alg, "key-1")) + "." + Jws.Encode(Jws.Payload(Now, _options, role: Roles.Admin));
        await AssertInvalid(unsigned + ".", "Access token must be signed with ES256.");

        // Keeping a real ES256 signature does not help either.
        var signature = Valid().Split('.')[2];
        await AssertRefused(unsigned + "." + signature, "ACCESS_TOKEN_INVALID", "Access token must be signed with ES256.");
    }

    [Theory]
    [InlineData("spki-der")]
    [InlineData("spki-pem")]
    [InlineData("x-y")]
    [InlineData("jwk-json")]
    [InlineData("x-base64url")]
    public async Task Hs256SignedWithThePublicKeyIsRefused(string form)
    {
        // The classic key-confusion attack: the public key is public, so an attacker can HMAC with it and hope the
        // server verifies HS256 with "its key".
        var parameters = _ecdsa.ExportParameters(false);
        var secret = form switch
        {
            "spki-der" => _ecdsa.ExportSubjectPublicKeyInfo(),
            "spki-pem" => Encoding.ASCII.GetBytes(_ecdsa.ExportSubjectPublicKeyInfoPem()),
            "x-y" => [.. parameters.Q.X!, .. parameters.Q.Y!],
            "jwk-json" => Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(_key.PublicKey)),
            _ => Encoding.ASCII.GetBytes(Base64Url.EncodeToString(parameters.Q.X)),
        };
        var token = Jws.SignHs256(Jws.Header("HS256", "key-1"), Jws.Payload(Now, _options, role: Roles.Admin), secret);

        await AssertInvalid(token, "Access token must be signed with ES256.");
    }

    [Theory]
    [InlineData("HS384")]
    [InlineData("HS512")]
    [InlineData("RS256")]
    [InlineData("PS256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("es256")]
    [InlineData("EdDSA")]
    public async Task AnyAlgorithmButEs256IsRefused(string alg)
    {
        // Signed correctly with the trusted key, but claiming another algorithm.
        var token = Jws.SignEs256(Jws.Header(alg, "key-1"), Jws.Payload(Now, _options), _ecdsa);
        await AssertInvalid(token, "Access token must be signed with ES256.");
    }

    [Fact]
    public async Task TokenSignedByAnotherKeyUnderATrustedKidIsRefused()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = Jws.SignEs256(Jws.Header("ES256", "key-1"), Jws.Payload(Now, _options, role: Roles.Admin), attacker);
        await AssertInvalid(token, "Access token signature is invalid.");
    }

    [Fact]
    public async Task TamperedPayloadIsRefused()
    {
        var parts = Valid().Split('.');
        var payload = Jws.DecodeSegment(parts[1]);
        payload["role"] = Roles.Admin;
        payload["sub"] = "someone-else";
        await AssertInvalid($"{parts[0]}.{Jws.Encode(payload)}.{parts[2]}", "Access token signature is invalid.");
    }

    [Fact]
    public async Task TamperedHeaderIsRefused()
    {
        var parts = Valid().Split('.');
        var header = Jws.DecodeSegment(parts[0]);
        header["typ"] = "at+jwt";
        await AssertInvalid($"{Jws.Encode(header)}.{parts[1]}.{parts[2]}", "Access token signature is invalid.");
    }

    [Fact]
    public async Task TruncatedOrFlippedSignatureIsRefused()
    {
        var parts = Valid().Split('.');
        var signature = Base64Url.DecodeFromChars(parts[2]);
        signature[10] ^= 0x01;
        await AssertInvalid($"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(signature)}", "Access token signature is invalid.");
        await AssertInvalid($"{parts[0]}.{parts[1]}.{parts[2][..40]}", "Access token signature is invalid.");
    }

    [Fact]
    public async Task UnknownOrMissingKidIsRefused()
    {
        await AssertInvalid(Valid(kid: "key-2"), "Access token is signed with an unknown key.");
        var noKid = Jws.SignEs256(Jws.Header("ES256", kid: null), Jws.Payload(Now, _options), _ecdsa);
        Assert.False((await Validate(noKid)).IsValid);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("key-1/../key-1")]
    [InlineData("key-1\u0000")]
    [InlineData("file:///keys/key-1.pem")]
    [InlineData("' OR 1=1 --")]
    public async Task KidPathTricksFindNoKey(string kid)
    {
        // The kid is only ever looked up in the trusted set, never used as a path or a query.
        await AssertInvalid(Valid(kid: kid), "Access token is signed with an unknown key.");
    }

    [Fact]
    public async Task EmbeddedJwkOrJkuHeadersAreIgnored()
    {
        // The attacker signs with its own key and points at it from the header: the key must still come from our set.
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var attackerKey = new SigningKey("key-1", attacker).PublicKey;
        var header = Jws.Header("ES256", "key-1");
        header["jwk"] = JsonNode.Parse(JsonFormatter.Default.Format(attackerKey));
        header["jku"] = "http://127.0.0.1:1/jwks.json";
        header["x5u"] = "http://127.0.0.1:1/cert.pem";
        var token = Jws.SignEs256(header, Jws.Payload(Now, _options, role: Roles.Admin), attacker);

        await AssertInvalid(token, "Access token signature is invalid.");
    }

    [Fact]
    public async Task ExpiredTokenIsRefusedAfterTheClockSkew()
    {
        var token = Valid();
        _time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(29));
        Assert.True((await Validate(token, Handler())).IsValid, "within exp + 30 s skew");

        _time.Advance(TimeSpan.FromSeconds(2));
        await AssertRefused(token, "ACCESS_TOKEN_EXPIRED", "Access token has expired; call Refresh.", Handler());
    }

    [Fact]
    public async Task ClockSkewIsConfigurable()
    {
        var strict = new AuthOptions { Issuer = _options.Issuer, Audience = _options.Audience, ClockSkew = TimeSpan.Zero };
        var token = Valid();
        _time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        await AssertRefused(token, "ACCESS_TOKEN_EXPIRED", "Access token has expired; call Refresh.", Handler(strict),
            Parameters(strict));
        Assert.True((await Validate(token)).IsValid);
    }

    [Fact]
    public async Task TokenNotYetValidIsRefusedBeyondTheClockSkew()
    {
        var soon = Valid(p => p["nbf"] = Now.AddSeconds(20).ToUnixTimeSeconds());
        Assert.True((await Validate(soon)).IsValid, "nbf within the 30 s skew");

        var later = Valid(p => p["nbf"] = Now.AddMinutes(2).ToUnixTimeSeconds());
        await AssertInvalid(later, "Access token is not valid yet.");
    }

    [Fact]
    public async Task WrongIssuerIsRefused()
    {
        await AssertInvalid(Valid(p => p["iss"] = "https://evil.test"), "Access token has the wrong issuer.");
        Assert.False((await Validate(Valid(p => p.Remove("iss")))).IsValid);
    }

    [Fact]
    public async Task WrongAudienceIsRefused()
    {
        await AssertInvalid(Valid(p => p["aud"] = "another-api"), "Access token is not meant for this audience.");
        Assert.False((await Validate(Valid(p => p.Remove("aud")))).IsValid);
    }

    [Fact]
    public async Task AudienceArrayContainingOurAudienceIsAccepted()
    {
        var token = Valid(p => p["aud"] = new JsonArray("another-api", _options.Audience));
        Assert.True((await Validate(token)).IsValid);
    }

    [Fact]
    public async Task MissingSubjectIsRefused()
    {
        await AssertInvalid(Valid(p => p.Remove("sub")), "Access token has no 'sub'.");
        await AssertInvalid(Valid(p => p["sub"] = ""), "Access token has no 'sub'.");
    }

    [Fact]
    public async Task MissingExpiryIsRefused()
    {
        await AssertInvalid(Valid(p => p.Remove("exp")), "Access token has no 'exp'.");
    }

    [Fact]
    public async Task CriticalHeaderIsRefused()
    {
        var header = Jws.Header("ES256", "key-1");
        header["crit"] = new JsonArray("exp-policy");
        header["exp-policy"] = "lenient";
        Assert.False((await Validate(Jws.SignEs256(header, Jws.Payload(Now, _options), _ecdsa))).IsValid);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d")]
    [InlineData("e30.e30.e30 ")]
    [InlineData("e30.e30+.sig")]
    [InlineData("e30.e30/.sig")]
    [InlineData("e30.e30.sig=")]
    public async Task TokenThatIsNotACompactJwsIsRefusedBeforeParsing(string token)
    {
        await AssertInvalid(token, "Access token is not a compact JWS.");
    }

    [Fact]
    public async Task JweShapedTokenIsRefusedBeforeTheLibrarySeesIt()
    {
        // Five segments (RSA-OAEP + A256GCM, compressed): never decrypted or inflated.
        var header = Jws.Encode(new JsonObject { ["alg"] = "RSA-OAEP", ["enc"] = "A256GCM", ["zip"] = "DEF" });
        await AssertInvalid($"{header}.a2V5.aXY.Y2lwaGVy.dGFn", "Access token is not a compact JWS.");
    }

    [Theory]
    [InlineData("bm90IGpzb24.e30.c2ln")]
    [InlineData("e30.bm90IGpzb24.c2ln")]
    [InlineData("...")]
    public async Task GarbageSegmentsAreRefused(string token)
    {
        Assert.False((await Validate(token)).IsValid);
    }

    [Theory]
    [InlineData("{\"alg\":", "{}")]
    [InlineData("[1]", "{}")]
    [InlineData("\"ES256\"", "{}")]
    [InlineData("{\"alg\":1,\"kid\":\"key-1\"}", "{}")]
    [InlineData("{\"alg\":null}", "{}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":5}", "{}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":[\"key-1\"]}", "{}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "{\"exp\":\"soon\"}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "{\"exp\":1e400}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "{\"sub\":5,\"aud\":{}}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "{\"iss\":\"https://auth.test\",\"aud\":\"flashdeal-test\",\"exp\":\"soon\",\"sub\":\"u\"}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "{\"iss\":\"https://auth.test\",\"aud\":\"flashdeal-test\",\"exp\":4102444800,\"sub\":[\"u\"]}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "{\"iss\":\"https://auth.test\",\"aud\":\"flashdeal-test\",\"exp\":4102444800,\"sub\":\"u\",\"nbf\":{}}")]
    [InlineData("{\"alg\":\"ES256\",\"kid\":\"key-1\"}", "{\"iss\":\"https://auth.test\",\"aud\":\"flashdeal-test\",\"exp\":-1e300,\"sub\":\"u\"}")]
    public async Task HostileJsonIsRefusedWithoutThrowing(string header, string payload)
    {
        var input = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." +
                    Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload));
        var signature = Base64Url.EncodeToString(_ecdsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));

        var result = await Validate(input + "." + signature);

        Assert.False(result.IsValid, $"accepted: {payload}");
        Assert.NotNull(result.Exception);
    }

    [Fact]
    public async Task OversizedTokenIsRefusedBeforeParsing()
    {
        var token = Valid(p => p["padding"] = new string('x', _options.MaxTokenLength));
        await AssertInvalid(token, $"Access token must be 1 to {_options.MaxTokenLength} characters.");
        Assert.Equal(0, _keyLookups);
    }

    [Fact]
    public async Task UnknownRoleGivesNoRole()
    {
        var result = await Validate(Valid(p => p["role"] = "superuser"));
        Assert.Equal(Role.Unspecified, User(result)!.Role);

        var odd = await Validate(Valid(p => p["email"] = new JsonObject { ["a"] = 1 }));
        Assert.True(odd.IsValid);
        Assert.Equal("user-1", User(odd)!.UserId);
    }

    [Fact]
    public async Task RepeatedTokenIsVerifiedOnceAndStillExpires()
    {
        var handler = Handler();
        var parameters = Parameters();
        var token = Valid();

        for (var i = 0; i < 10; i++)
        {
            Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        }
        Assert.Equal(1, _keyLookups);

        _time.Advance(TimeSpan.FromMinutes(5) + _options.ClockSkew + TimeSpan.FromSeconds(1));
        await AssertRefused(token, "ACCESS_TOKEN_EXPIRED", "Access token has expired; call Refresh.", handler, parameters);
    }

    [Fact]
    public async Task OnlyExactlyTheValidatedTokenIsRemembered()
    {
        var handler = Handler();
        var parameters = Parameters();
        var token = Valid();
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);

        var parts = token.Split('.');
        var payload = Jws.DecodeSegment(parts[1]);
        payload["role"] = Roles.Admin;
        await AssertInvalid($"{parts[0]}.{Jws.Encode(payload)}.{parts[2]}", "Access token signature is invalid.");
        Assert.False((await handler.ValidateTokenAsync($"{parts[0]}.{Jws.Encode(payload)}.{parts[2]}", parameters)).IsValid);
    }

    [Fact]
    public async Task CachedIdentityIsACopyPerCall()
    {
        var handler = Handler();
        var parameters = Parameters();
        var token = Valid();
        var first = await handler.ValidateTokenAsync(token, parameters);
        first.ClaimsIdentity.AddClaim(new System.Security.Claims.Claim("role", Roles.Admin));

        var second = await handler.ValidateTokenAsync(token, parameters);

        Assert.Equal(Role.Customer, User(second)!.Role);
    }

    [Fact]
    public async Task ValidatedTokenCacheCanBeTurnedOff()
    {
        _options.ValidatedTokenCacheSize = 0;
        var handler = Handler();
        var parameters = Parameters();
        var token = Valid();

        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        Assert.Equal(2, _keyLookups);
    }

    [Fact]
    public void ValidatedTokenCacheStaysWithinItsCapacity()
    {
        var cache = new ValidatedTokenCache(capacity: 100);
        var now = _time.GetUtcNow().UtcDateTime;
        var identity = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", "u")], "Bearer");
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(Valid());

        for (var i = 0; i < 1000; i++)
        {
            cache.Add($"token-{i}", identity, token, now.AddMinutes(5), now);
            Assert.True(cache.Count <= 100);
        }
        Assert.True(cache.TryGet("token-999", now, out _, out _));
        Assert.False(cache.TryGet("token-999", now.AddMinutes(6), out _, out _));
    }

    [Fact]
    public void FailuresOutsideTheTokenAreUnavailableNotInvalid()
    {
        // JwtBearer reports a JWKS that could not be loaded as the authentication failure: not the caller's fault.
        var status = AuthErrors.Unauthenticated(new InvalidOperationException("IDX20803: Unable to obtain configuration"));
        Assert.Equal((int)Grpc.Core.StatusCode.Unavailable, status.Code);
        Assert.Empty(status.Details);
    }

    [Fact]
    public void NoTokenIsMissing()
    {
        var status = AuthErrors.Unauthenticated(null);
        Assert.Equal("ACCESS_TOKEN_MISSING", status.Details.Single().Unpack<ErrorInfo>().Reason);
    }
}
