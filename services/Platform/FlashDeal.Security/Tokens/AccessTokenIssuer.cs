using FlashDeal.Contracts.Auth.V1;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Security;

/// <summary>A signed access token and what the caller needs to know about it.</summary>
public sealed record AccessToken(string Token, string TokenId, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>Issues short-lived ES256 access tokens signed with the active key of the current set (auth service).</summary>
public sealed class AccessTokenIssuer(ISigningKeySource keys, AuthOptions options, TimeProvider? time = null)
{
    private static readonly JsonWebTokenHandler Handler = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public AccessToken Issue(string userId, string email, Role role)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        // JWT times are whole seconds: truncate so ExpiresAt is exactly the `exp` claim.
        var now = DateTimeOffset.FromUnixTimeSeconds(_time.GetUtcNow().ToUnixTimeSeconds());
        var expires = now + options.AccessTokenLifetime;
        var tokenId = Guid.NewGuid().ToString("N");
        var claims = new Dictionary<string, object>
        {
            [JwtClaims.Subject] = userId,
            [JwtClaims.TokenId] = tokenId,
        };
        if (!string.IsNullOrEmpty(email))
        {
            claims[JwtClaims.Email] = email;
        }
        if (Roles.ToClaimValue(role) is { Length: > 0 } roleClaim)
        {
            claims[JwtClaims.Role] = roleClaim;
        }
        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Audience = options.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(keys.Current.Active.SecurityKey, SecurityAlgorithms.EcdsaSha256),
        });
        return new AccessToken(token, tokenId, now, expires);
    }
}
