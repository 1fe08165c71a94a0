using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FlashDeal.Contracts.Auth.V1;
using Google.Protobuf;

namespace FlashDeal.Security.Tests.UnitTests;

public sealed class AccessTokenValidatorTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly AuthOptions _options = new() { Issuer = "https://auth.test", Audience = "flashdeal-test" };
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly SigningKey _key;
    private readonly AccessTokenValidator _validator;

    public AccessTokenValidatorTests()
    {
        _key = new SigningKey("key-1", _ecdsa);
        _validator = new AccessTokenValidator(new SigningKeySet([_key], "key-1"), _options, _time);
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    private string Valid(Action<JsonObject>? change = null, string kid = "key-1")
    {
        var payload = Jws.Payload(Now, _options);
        change?.Invoke(payload);
        return Jws.SignEs256(Jws.Header("ES256", kid), payload, _ecdsa);
    }

    private async Task AssertRefused(string token, TokenFailureReason expected)
    {
        var result = await _validator.ValidateAsync(token);
        Assert.False(result.IsValid, $"token was accepted, expected {expected}");
        Assert.Equal(expected, result.Failure);
        Assert.Null(result.User);
    }

    [Fact]
    public async Task ValidTokenIsAcceptedWithItsUser()
    {
        var result = await _validator.ValidateAsync(Valid(p => p["role"] = Roles.Admin));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(new AuthenticatedUser("user-1", "ada@example.com", Role.Admin), result.User);
    }

    [Fact]
    public async Task TokenIssuedByTheIssuerIsAccepted()
    {
        var issuer = new AccessTokenIssuer(new SigningKeySet([_key], "key-1"), _options, _time);
        var token = issuer.Issue("user-7", "bo@example.com", Role.Customer);

        var result = await _validator.ValidateAsync(token.Token);

        Assert.Equal(new AuthenticatedUser("user-7", "bo@example.com", Role.Customer), result.User);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    [InlineData("NONE")]
    public async Task UnsignedTokenWithAlgNoneIsRefused(string alg)
    {
        var token = Jws.Encode(Jws.Header(alg, "key-1")) + "." + Jws.Encode(Jws.Payload(Now, _options)) + ".";
        await AssertRefused(token, TokenFailureReason.UnsupportedAlgorithm);

        // Keeping a real ES256 signature does not help either.
        var signature = Valid().Split('.')[2];
        await AssertRefused(token + signature, TokenFailureReason.UnsupportedAlgorithm);
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

        await AssertRefused(token, TokenFailureReason.UnsupportedAlgorithm);
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
        await AssertRefused(token, TokenFailureReason.UnsupportedAlgorithm);
    }

    [Fact]
    public async Task TokenSignedByAnotherKeyUnderATrustedKidIsRefused()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = Jws.SignEs256(Jws.Header("ES256", "key-1"), Jws.Payload(Now, _options), attacker);
        await AssertRefused(token, TokenFailureReason.InvalidSignature);
    }

    [Fact]
    public async Task TamperedPayloadIsRefused()
    {
        var parts = Valid().Split('.');
        var payload = Jws.DecodeSegment(parts[1]);
        payload["role"] = Roles.Admin;
        payload["sub"] = "someone-else";
        await AssertRefused($"{parts[0]}.{Jws.Encode(payload)}.{parts[2]}", TokenFailureReason.InvalidSignature);
    }

    [Fact]
    public async Task TamperedHeaderIsRefused()
    {
        var parts = Valid().Split('.');
        var header = Jws.DecodeSegment(parts[0]);
        header["typ"] = "at+jwt";
        await AssertRefused($"{Jws.Encode(header)}.{parts[1]}.{parts[2]}", TokenFailureReason.InvalidSignature);
    }

    [Fact]
    public async Task TruncatedOrFlippedSignatureIsRefused()
    {
        var token = Valid();
        var parts = token.Split('.');
        var signature = Base64Url.DecodeFromChars(parts[2]);
        signature[10] ^= 0x01;
        await AssertRefused($"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(signature)}", TokenFailureReason.InvalidSignature);
        await AssertRefused($"{parts[0]}.{parts[1]}.{parts[2][..40]}", TokenFailureReason.InvalidSignature);
    }

    [Fact]
    public async Task UnknownOrMissingKidIsRefused()
    {
        await AssertRefused(Valid(kid: "key-2"), TokenFailureReason.UnknownKey);
        var noKid = Jws.SignEs256(Jws.Header("ES256", kid: null), Jws.Payload(Now, _options), _ecdsa);
        await AssertRefused(noKid, TokenFailureReason.UnknownKey);
    }

    [Fact]
    public async Task ExpiredTokenIsRefusedAfterTheClockSkew()
    {
        var token = Valid();
        _time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(29));
        Assert.True((await _validator.ValidateAsync(token)).IsValid, "within exp + 30 s skew");

        _time.Advance(TimeSpan.FromSeconds(2));
        await AssertRefused(token, TokenFailureReason.Expired);
    }

    [Fact]
    public async Task ClockSkewIsConfigurable()
    {
        var strict = new AccessTokenValidator(new SigningKeySet([_key], "key-1"),
            new AuthOptions { Issuer = _options.Issuer, Audience = _options.Audience, ClockSkew = TimeSpan.Zero }, _time);
        var token = Valid();
        _time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        Assert.Equal(TokenFailureReason.Expired, (await strict.ValidateAsync(token)).Failure);
        Assert.True((await _validator.ValidateAsync(token)).IsValid);
    }

    [Fact]
    public async Task TokenNotYetValidIsRefusedBeyondTheClockSkew()
    {
        var soon = Valid(p => p["nbf"] = Now.AddSeconds(20).ToUnixTimeSeconds());
        Assert.True((await _validator.ValidateAsync(soon)).IsValid, "nbf within the 30 s skew");

        var later = Valid(p => p["nbf"] = Now.AddMinutes(2).ToUnixTimeSeconds());
        await AssertRefused(later, TokenFailureReason.NotYetValid);
    }

    [Fact]
    public async Task WrongIssuerIsRefused()
    {
        await AssertRefused(Valid(p => p["iss"] = "https://evil.test"), TokenFailureReason.InvalidIssuer);
        await AssertRefused(Valid(p => p.Remove("iss")), TokenFailureReason.InvalidIssuer);
    }

    [Fact]
    public async Task WrongAudienceIsRefused()
    {
        await AssertRefused(Valid(p => p["aud"] = "another-api"), TokenFailureReason.InvalidAudience);
        await AssertRefused(Valid(p => p.Remove("aud")), TokenFailureReason.InvalidAudience);
    }

    [Fact]
    public async Task AudienceArrayContainingOurAudienceIsAccepted()
    {
        var token = Valid(p => p["aud"] = new JsonArray("another-api", _options.Audience));
        Assert.True((await _validator.ValidateAsync(token)).IsValid);
    }

    [Fact]
    public async Task MissingSubjectIsRefused()
    {
        await AssertRefused(Valid(p => p.Remove("sub")), TokenFailureReason.MissingSubject);
        await AssertRefused(Valid(p => p["sub"] = ""), TokenFailureReason.MissingSubject);
    }

    [Fact]
    public async Task MissingExpiryIsRefused()
    {
        await AssertRefused(Valid(p => p.Remove("exp")), TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task CriticalHeaderIsRefused()
    {
        var header = Jws.Header("ES256", "key-1");
        header["crit"] = new JsonArray("exp-policy");
        header["exp-policy"] = "lenient";
        await AssertRefused(Jws.SignEs256(header, Jws.Payload(Now, _options), _ecdsa), TokenFailureReason.Malformed);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d")]
    [InlineData("e30.e30.e30 ")]
    [InlineData("e30.e30+.sig")]
    [InlineData("bm90IGpzb24.e30.c2ln")]
    [InlineData("e30.bm90IGpzb24.c2ln")]
    [InlineData("...")]
    public async Task MalformedTokenIsRefused(string token)
    {
        await AssertRefused(token, TokenFailureReason.Malformed);
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

        var result = await _validator.ValidateAsync(input + "." + signature);

        Assert.False(result.IsValid, $"accepted: {payload} as {result.User}");
        Assert.NotEqual(TokenFailureReason.None, result.Failure);
    }

    [Fact]
    public async Task OversizedTokenIsRefusedBeforeParsing()
    {
        var token = Valid(p => p["padding"] = new string('x', AccessTokenValidator.MaxTokenLength));
        await AssertRefused(token, TokenFailureReason.Malformed);
    }

    [Fact]
    public async Task EmptyTokenIsMissing()
    {
        Assert.Equal(TokenFailureReason.Missing, (await _validator.ValidateAsync(null)).Failure);
        Assert.Equal(TokenFailureReason.Missing, (await _validator.ValidateAsync("")).Failure);
    }

    [Fact]
    public async Task UnknownRoleGivesNoRole()
    {
        var result = await _validator.ValidateAsync(Valid(p => p["role"] = "superuser"));
        Assert.Equal(Role.Unspecified, result.User!.Role);
        Assert.False(result.User.IsAdmin);

        var odd = await _validator.ValidateAsync(Valid(p =>
        {
            p["role"] = new JsonArray(Roles.Admin);
            p["email"] = new JsonObject { ["a"] = 1 };
        }));
        Assert.Equal(new AuthenticatedUser("user-1", "", Role.Unspecified), odd.User);
    }

    [Fact]
    public async Task KeySourceWithoutKeysIsReportedAsUnavailableNotInvalid()
    {
        var validator = new AccessTokenValidator(new NoKeysYet(), _options, _time);
        Assert.Equal(TokenFailureReason.KeysUnavailable, (await validator.ValidateAsync(Valid())).Failure);
    }

    [Fact]
    public async Task RepeatedTokenIsVerifiedOnceAndStillExpires()
    {
        var keys = new CountingKeySource(new SigningKeySet([_key], "key-1"));
        var validator = new AccessTokenValidator(keys, _options, _time);
        var token = Valid();

        for (var i = 0; i < 10; i++)
        {
            Assert.True((await validator.ValidateAsync(token)).IsValid);
        }
        Assert.Equal(1, keys.Lookups);

        _time.Advance(TimeSpan.FromMinutes(5) + _options.ClockSkew + TimeSpan.FromSeconds(1));
        Assert.Equal(TokenFailureReason.Expired, (await validator.ValidateAsync(token)).Failure);
    }

    [Fact]
    public async Task OnlyExactlyTheValidatedTokenIsRemembered()
    {
        var keys = new CountingKeySource(new SigningKeySet([_key], "key-1"));
        var validator = new AccessTokenValidator(keys, _options, _time);
        var token = Valid();
        Assert.True((await validator.ValidateAsync(token)).IsValid);

        var parts = token.Split('.');
        var payload = Jws.DecodeSegment(parts[1]);
        payload["role"] = Roles.Admin;
        Assert.Equal(TokenFailureReason.InvalidSignature,
            (await validator.ValidateAsync($"{parts[0]}.{Jws.Encode(payload)}.{parts[2]}")).Failure);
        Assert.Equal(2, keys.Lookups);
    }

    [Fact]
    public async Task ValidatedTokenCacheCanBeTurnedOff()
    {
        var keys = new CountingKeySource(new SigningKeySet([_key], "key-1"));
        _options.ValidatedTokenCacheSize = 0;
        var validator = new AccessTokenValidator(keys, _options, _time);
        var token = Valid();

        Assert.True((await validator.ValidateAsync(token)).IsValid);
        Assert.True((await validator.ValidateAsync(token)).IsValid);
        Assert.Equal(2, keys.Lookups);
    }

    [Fact]
    public void ValidatedTokenCacheStaysWithinItsCapacity()
    {
        var cache = new ValidatedTokenCache(capacity: 100);
        var now = _time.GetUtcNow().UtcDateTime;
        var user = new AuthenticatedUser("u", "", Role.Customer);

        for (var i = 0; i < 1000; i++)
        {
            cache.Add($"token-{i}", user, now.AddMinutes(5), now);
            Assert.True(cache.Count <= 100);
        }
        Assert.True(cache.TryGet("token-999", now, out _));
        Assert.False(cache.TryGet("token-999", now.AddMinutes(6), out _));
    }

    private sealed class CountingKeySource(ISigningKeySource inner) : ISigningKeySource
    {
        private int _lookups;

        public int Lookups => _lookups;

        public ValueTask<SigningKey?> FindAsync(string keyId, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _lookups);
            return inner.FindAsync(keyId, cancellationToken);
        }
    }

    private sealed class NoKeysYet : ISigningKeySource
    {
        public ValueTask<SigningKey?> FindAsync(string keyId, CancellationToken cancellationToken = default) =>
            throw new SigningKeysUnavailableException("auth unreachable");
    }
}
