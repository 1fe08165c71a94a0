using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using IdentityJsonWebKey = Microsoft.IdentityModel.Tokens.JsonWebKey;
using ProtoJsonWebKey = FlashDeal.Contracts.Auth.V1.JsonWebKey;

namespace FlashDeal.Security;

/// <summary>
/// A JWKS-only configuration for JwtBearer: the address is auth's JWKS (no OpenID discovery document needed), and
/// only EC P-256 ES256 signing keys with a valid `kid` are taken (each point checked to lie on the curve). IdentityModel's
/// <see cref="ConfigurationManager{T}"/> caches it, refreshes it in the background and, when a token names an unknown
/// `kid`, at most once per RefreshInterval.
/// </summary>
public sealed class JwksRetriever : IConfigurationRetriever<OpenIdConnectConfiguration>
{
    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever,
        CancellationToken cancel)
    {
        var document = await retriever.GetDocumentAsync(address, cancel).ConfigureAwait(false);
        var configuration = new OpenIdConnectConfiguration { JwksUri = address };
        foreach (var key in Parse(document))
        {
            configuration.SigningKeys.Add(key.SecurityKey);
        }
        return configuration.SigningKeys.Count > 0
            ? configuration
            : throw new InvalidOperationException($"The JWKS at {address} holds no ES256 (EC P-256) signing key.");
    }

    /// <summary>The usable keys of a JWKS document; keys of another type or with bad coordinates are skipped.</summary>
    public static IReadOnlyList<SigningKey> Parse(string jwksJson)
    {
        var keys = new List<SigningKey>();
        foreach (var jwk in new JsonWebKeySet(jwksJson).Keys)
        {
            if (!SigningKey.IsValidKeyId(jwk.Kid))
            {
                continue;
            }
            try
            {
                keys.Add(SigningKey.FromJsonWebKey(ToProto(jwk)));
            }
            catch (FormatException)
            {
                // Not an ES256 key: a set may carry other keys for other consumers.
            }
        }
        return keys;
    }

    /// <summary>A static configuration from keys this process holds (the auth service validates with its own set).</summary>
    public static OpenIdConnectConfiguration FromKeys(IEnumerable<SigningKey> keys)
    {
        var configuration = new OpenIdConnectConfiguration();
        foreach (var key in keys)
        {
            configuration.SigningKeys.Add(key.SecurityKey);
        }
        return configuration;
    }

    private static ProtoJsonWebKey ToProto(IdentityJsonWebKey jwk) => new()
    {
        Kty = jwk.Kty ?? "",
        Crv = jwk.Crv ?? "",
        X = jwk.X ?? "",
        Y = jwk.Y ?? "",
        Kid = jwk.Kid ?? "",
        Alg = jwk.Alg ?? "",
        Use = jwk.Use ?? "",
    };
}
