using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Security;

/// <summary>
/// Validates access tokens locally (no call to auth): compact JWS only, ES256 only, signature by the key the `kid`
/// names, then `iss`, `aud`, `exp`/`nbf` with clock skew, and `sub`. Every refusal has a <see cref="TokenFailureReason"/>.
/// </summary>
public sealed class AccessTokenValidator(ISigningKeySource keys, AuthOptions options, TimeProvider? time = null)
{
    /// <summary>Longer input is refused before any parsing; real tokens are well under 1 KiB.</summary>
    public const int MaxTokenLength = 8 * 1024;

    private static readonly JsonWebTokenHandler Handler = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ValidatedTokenCache _validated = new(options.ValidatedTokenCacheSize);

    public async ValueTask<TokenValidationResult> ValidateAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(token))
        {
            return TokenValidationResult.Missing;
        }
        // Exactly three base64url segments: this also keeps JWE (five segments) and its decompression away from the
        // library, which at this version has a known zip-bomb issue there (GHSA-59j7-ghrg-fj52).
        if (token.Length > MaxTokenLength || !IsCompactJws(token))
        {
            return Fail(TokenFailureReason.Malformed, "Access token is not a compact JWS.");
        }
        if (_validated.TryGet(token, _time.GetUtcNow().UtcDateTime, out var cached))
        {
            return TokenValidationResult.Success(cached);
        }
        if (ReadHeader(token) is not { } header)
        {
            return Fail(TokenFailureReason.Malformed, "Access token header or payload is not valid JSON.");
        }

        // Decided from the header before any key is touched: "none", HS256 signed with the public key, RS256, ...
        if (header.Alg != SigningKey.Algorithm)
        {
            return Fail(TokenFailureReason.UnsupportedAlgorithm, "Access token must be signed with ES256.");
        }
        if (header.HasCrit)
        {
            return Fail(TokenFailureReason.Malformed, "Access token has critical header parameters this server does not know.");
        }
        if (!SigningKey.IsValidKeyId(header.Kid))
        {
            return Fail(TokenFailureReason.UnknownKey, "Access token has no usable 'kid'.");
        }

        SigningKey? key;
        try
        {
            key = await keys.FindAsync(header.Kid!, cancellationToken).ConfigureAwait(false);
        }
        catch (SigningKeysUnavailableException)
        {
            return Fail(TokenFailureReason.KeysUnavailable, "Signing keys are not available yet; retry later.");
        }
        if (key is null)
        {
            return Fail(TokenFailureReason.UnknownKey, "Access token is signed with an unknown key.");
        }

        var result = Handler.ValidateToken(token, new TokenValidationParameters
        {
            IssuerSigningKey = key.SecurityKey,
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = [SigningKey.Algorithm],
            RequireSignedTokens = true,
            ValidIssuer = options.Issuer,
            ValidAudience = options.Audience,
            RequireAudience = true,
            // Lifetime is checked below against our TimeProvider, with our reasons.
            ValidateLifetime = false,
            RequireExpirationTime = false,
        });
        if (!result.IsValid)
        {
            return result.Exception switch
            {
                SecurityTokenInvalidIssuerException => Fail(TokenFailureReason.InvalidIssuer, "Access token has the wrong issuer."),
                SecurityTokenInvalidAudienceException => Fail(TokenFailureReason.InvalidAudience, "Access token is not meant for this audience."),
                SecurityTokenInvalidAlgorithmException => Fail(TokenFailureReason.UnsupportedAlgorithm, "Access token must be signed with ES256."),
                SecurityTokenSignatureKeyNotFoundException => Fail(TokenFailureReason.UnknownKey, "Access token is signed with an unknown key."),
                SecurityTokenInvalidSignatureException => Fail(TokenFailureReason.InvalidSignature, "Access token signature is invalid."),
                _ => Fail(TokenFailureReason.Malformed, "Access token could not be validated."),
            };
        }

        if (ReadClaims(header.Token) is not { } claims)
        {
            return Fail(TokenFailureReason.Malformed, "Access token has claims of the wrong type.");
        }
        var now = _time.GetUtcNow().UtcDateTime;
        if (claims.Expires is not { } expires)
        {
            return Fail(TokenFailureReason.Malformed, "Access token has no 'exp'.");
        }
        if (now > expires + options.ClockSkew)
        {
            return Fail(TokenFailureReason.Expired, "Access token has expired.");
        }
        if (claims.NotBefore is { } notBefore && now + options.ClockSkew < notBefore)
        {
            return Fail(TokenFailureReason.NotYetValid, "Access token is not valid yet.");
        }
        if (string.IsNullOrEmpty(claims.Subject))
        {
            return Fail(TokenFailureReason.MissingSubject, "Access token has no 'sub'.");
        }

        var user = new AuthenticatedUser(claims.Subject, claims.Email ?? "", Roles.FromClaimValue(claims.Role));
        _validated.Add(token, user, expires + options.ClockSkew, now);
        return TokenValidationResult.Success(user);
    }

    // The library throws assorted exception types (cast, format, overflow, its JSON reader's own) when a member has an
    // unexpected JSON type, e.g. "kid": [..]. Input is hostile by default: any failure to read it is "malformed".
    private static Header? ReadHeader(string token)
    {
        try
        {
            var jwt = new JsonWebToken(token);
            return new Header(jwt, jwt.Alg, jwt.Kid, jwt.TryGetHeaderValue<object>("crit", out _));
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static Claims? ReadClaims(JsonWebToken jwt)
    {
        try
        {
            jwt.TryGetPayloadValue<string>(JwtClaims.Email, out var email);
            jwt.TryGetPayloadValue<string>(JwtClaims.Role, out var role);
            return new Claims(
                jwt.Subject,
                email,
                role,
                jwt.ValidTo == DateTime.MinValue ? null : jwt.ValidTo,
                jwt.ValidFrom == DateTime.MinValue ? null : jwt.ValidFrom);
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static TokenValidationResult Fail(TokenFailureReason reason, string detail) =>
        TokenValidationResult.Fail(reason, detail);

    private static bool IsCompactJws(string token)
    {
        var dots = 0;
        foreach (var c in token)
        {
            if (c == '.')
            {
                dots++;
            }
            else if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }
        return dots == 2;
    }

    private sealed record Header(JsonWebToken Token, string? Alg, string? Kid, bool HasCrit);

    private sealed record Claims(string? Subject, string? Email, string? Role, DateTime? Expires, DateTime? NotBefore);
}
