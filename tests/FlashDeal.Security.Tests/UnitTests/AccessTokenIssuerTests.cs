using FlashDeal.Contracts.Auth.V1;

namespace FlashDeal.Security.Tests.UnitTests;

public sealed class AccessTokenIssuerTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly AuthOptions _options = new() { Issuer = "https://auth.test", Audience = "flashdeal-test" };

    [Fact]
    public void TokenCarriesTheStandardClaimsAndTheActiveKid()
    {
        var keys = new SigningKeySet([SigningKey.Generate("old"), SigningKey.Generate("new")], "new");
        var issued = new AccessTokenIssuer(keys, _options, _time).Issue("user-1", "ada@example.com", Role.Admin);

        var parts = issued.Token.Split('.');
        var header = Jws.DecodeSegment(parts[0]);
        var payload = Jws.DecodeSegment(parts[1]);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();

        Assert.Equal("ES256", (string?)header["alg"]);
        Assert.Equal("new", (string?)header["kid"]);
        Assert.Equal(_options.Issuer, (string?)payload["iss"]);
        Assert.Equal(_options.Audience, (string?)payload["aud"]);
        Assert.Equal("user-1", (string?)payload["sub"]);
        Assert.Equal("ada@example.com", (string?)payload["email"]);
        Assert.Equal("admin", (string?)payload["role"]);
        Assert.Equal(issued.TokenId, (string?)payload["jti"]);
        Assert.Equal(now, (long?)payload["iat"]);
        Assert.Equal(now, (long?)payload["nbf"]);
        Assert.Equal(now + 300, (long?)payload["exp"]);
        Assert.Equal(issued.ExpiresAt.ToUnixTimeSeconds(), (long?)payload["exp"]);
        Assert.Equal(64, System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]).Length);
    }

    [Fact]
    public void LifetimeIsConfigurableAndTokenIdsAreUnique()
    {
        _options.AccessTokenLifetime = TimeSpan.FromMinutes(1);
        var issuer = new AccessTokenIssuer(new SigningKeySet([SigningKey.Generate("k")], "k"), _options, _time);

        var a = issuer.Issue("user-1", "", Role.Customer);
        var b = issuer.Issue("user-1", "", Role.Customer);

        Assert.Equal(TimeSpan.FromMinutes(1), a.ExpiresAt - a.IssuedAt);
        Assert.NotEqual(a.TokenId, b.TokenId);
        Assert.False(Jws.DecodeSegment(a.Token.Split('.')[1]).ContainsKey("email"));
    }
}
