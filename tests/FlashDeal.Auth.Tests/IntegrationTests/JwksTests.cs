using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using FlashDeal.TestInfrastructure;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Auth.Tests.IntegrationTests;

/// <summary>The auth service signs with a configured key; its JWKS is what every other service validates with.</summary>
public sealed class ConfiguredKeyFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    public const string KeyId = "auth-test-2030-01";

    private static readonly string Pem = ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem();

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Auth:SigningKeys:Keys:0:KeyId"] = KeyId,
        ["Auth:SigningKeys:Keys:0:Pem"] = Pem,
    };
}

[Collection(DataServers.Name)]
public sealed class JwksTests(ConfiguredKeyFixture service) : IClassFixture<ConfiguredKeyFixture>
{
    private readonly AuthClient _client = service.Client;

    [Theory]
    [InlineData("/.well-known/jwks.json")]
    [InlineData("/v1/auth/jwks")]
    public async Task JwksOverRestPublishesTheSigningKey(string path)
    {
        var session = await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");
        var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(session.Token.AccessToken.Split('.')[0]))
            .RootElement;

        var rest = await _client.GetAsync(path);

        Assert.Equal(200, rest.Status);
        Assert.Equal("public, max-age=300", rest.Response.Headers.CacheControl?.ToString());
        var key = Assert.Single(rest.Json.GetProperty("keys").EnumerateArray());
        Assert.Equal(ConfiguredKeyFixture.KeyId, header.GetProperty("kid").GetString());
        Assert.Equal(ConfiguredKeyFixture.KeyId, key.GetProperty("kid").GetString());
        Assert.Equal("EC", key.GetProperty("kty").GetString());
        Assert.Equal("P-256", key.GetProperty("crv").GetString());
        Assert.Equal("ES256", key.GetProperty("alg").GetString());
        Assert.Equal("sig", key.GetProperty("use").GetString());
        Assert.False(key.TryGetProperty("d", out _));
    }

    [Fact]
    public async Task JwksOverGrpcHoldsTheSameKeys()
    {
        var grpc = await _client.CallAsync(c => c.GetJwksAsync(new GetJwksRequest(), AuthClient.Options()));
        var rest = await _client.GetAsync("/.well-known/jwks.json");

        var key = Assert.Single(grpc.Keys);
        Assert.Equal(ConfiguredKeyFixture.KeyId, key.Kid);
        Assert.Equal(rest.Json.GetProperty("keys")[0].GetProperty("x").GetString(), key.X);
    }

    [Fact]
    public async Task IssuedTokensValidateAgainstTheJwksFetchedOverHttp()
    {
        var session = await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");
        var options = new AuthOptions { JwksUrl = new Uri(_client.Host.RestAddress, "/.well-known/jwks.json") };
        // What JwtBearer runs on every other service: the JWKS over HTTP (IdentityModel's configuration manager, JWKS
        // only) and FlashDeal's token handler with FlashDeal's validation parameters.
        var jwks = new ConfigurationManager<OpenIdConnectConfiguration>(options.JwksUrl.ToString(), new JwksRetriever(),
            new HttpDocumentRetriever { RequireHttps = false });
        var parameters = AccessTokenHandler.Parameters(options);
        parameters.ConfigurationManager = jwks;
        var handler = new AccessTokenHandler(options);

        var result = await handler.ValidateTokenAsync(session.Token.AccessToken, parameters);

        Assert.True(result.IsValid, result.Exception?.Message);
        var user = AuthenticatedUser.FromPrincipal(new ClaimsPrincipal(result.ClaimsIdentity));
        Assert.Equal((session.User.UserId, session.User.Email, Role.Customer), (user?.UserId, user?.Email, user?.Role));
        var fetched = await jwks.GetConfigurationAsync(CancellationToken.None);
        Assert.Equal([ConfiguredKeyFixture.KeyId], fetched.SigningKeys.Select(k => k.KeyId));

        var foreignKeys = new SigningKeySet([SigningKey.Generate(ConfiguredKeyFixture.KeyId)], ConfiguredKeyFixture.KeyId);
        var forged = new AccessTokenIssuer(foreignKeys, options).Issue(session.User.UserId, session.User.Email, Role.Admin);
        var refused = await handler.ValidateTokenAsync(forged.Token, parameters);
        Assert.False(refused.IsValid);
        Assert.IsAssignableFrom<SecurityTokenInvalidSignatureException>(refused.Exception);
    }
}
