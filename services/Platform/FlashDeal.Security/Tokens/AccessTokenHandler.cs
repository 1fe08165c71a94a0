using System.Diagnostics.Metrics;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Security;

/// <summary>
/// The token handler JwtBearer runs: IdentityModel's <see cref="JsonWebTokenHandler"/> with FlashDeal's rules around it.
/// Before the library parses anything, a token longer than <see cref="AuthOptions.MaxTokenLength"/> or not exactly
/// three base64url segments (a JWE, junk) is refused; after it validated (ES256 only, signature by the key its `kid`
/// names, iss, aud, exp/nbf), a token with critical header parameters or without `sub` is refused too. Tokens that
/// passed are remembered until they expire (<see cref="ValidatedTokenCache"/>). A token naming a `kid` the cached key
/// set lacks waits for a fresh JWKS (<see cref="JwksConfigurationManager.RefreshAsync"/>) and is validated once more.
/// </summary>
public sealed class AccessTokenHandler(AuthOptions options, TimeProvider? time = null, IMeterFactory? meters = null)
    : JsonWebTokenHandler
{
    /// <summary>Counter of validated-token cache lookups by result (hit, miss); listed as FlashDealMetrics.TokenCacheLookups.</summary>
    public const string CacheLookupsMetric = "flashdeal.auth.token_cache.lookups";

    private static readonly KeyValuePair<string, object?> Hit = new("result", "hit");
    private static readonly KeyValuePair<string, object?> Miss = new("result", "miss");
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ValidatedTokenCache _validated = new(options.ValidatedTokenCacheSize);
    private readonly Counter<long>? _lookups = meters?.Create("FlashDeal.Authentication").CreateCounter<long>(
        CacheLookupsMetric, "{lookup}", "Validated-token cache lookups by result (hit, miss).");

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token,
        TokenValidationParameters validationParameters)
    {
        if (string.IsNullOrEmpty(token) || token.Length > options.MaxTokenLength)
        {
            return Refused(new SecurityTokenMalformedException(
                $"Access token must be 1 to {options.MaxTokenLength} characters."));
        }
        if (!IsCompactJws(token))
        {
            return Refused(new SecurityTokenMalformedException("Access token is not a compact JWS."));
        }
        var now = _time.GetUtcNow().UtcDateTime;
        if (_validated.TryGet(token, now, out var cachedIdentity, out var cachedToken))
        {
            _lookups?.Add(1, Hit);
            return new TokenValidationResult { IsValid = true, ClaimsIdentity = cachedIdentity, SecurityToken = cachedToken };
        }
        _lookups?.Add(1, Miss);

        var jwks = validationParameters.ConfigurationManager as JwksConfigurationManager;
        var generation = jwks?.Generation ?? 0;
        var result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException && jwks is not null
            && await HasKeysAsync(validationParameters).ConfigureAwait(false)
            && await jwks.RefreshAsync(generation).ConfigureAwait(false))
        {
            // A kid the cached set lacks: auth may have published it since the last fetch (a rotation). The same token
            // is validated again, by the same rules, against the set just fetched.
            result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        }
        if (!result.IsValid)
        {
            if (result.Exception is SecurityTokenInvalidSignatureException && !ClaimsEs256(token))
            {
                return Refused(new SecurityTokenInvalidAlgorithmException("Access token must be signed with ES256."));
            }
            if (result.Exception is SecurityTokenSignatureKeyNotFoundException
                && !await HasKeysAsync(validationParameters).ConfigureAwait(false))
            {
                return Refused(new SigningKeysUnavailableException());
            }
            return result;
        }
        var jwt = (JsonWebToken)result.SecurityToken;
        if (jwt.TryGetHeaderValue<object>("crit", out _))
        {
            return Refused(new SecurityTokenMalformedException(
                "Access token has critical header parameters this server does not know."));
        }
        if (string.IsNullOrEmpty(jwt.Subject))
        {
            return Refused(new SecurityTokenValidationException("Access token has no 'sub'."));
        }
        _validated.Add(token, result.ClaimsIdentity, jwt, jwt.ValidTo + validationParameters.ClockSkew, now);
        return result;
    }

    /// <summary>
    /// The validation rules every FlashDeal service applies (JwtBearer's TokenValidationParameters). Lifetime is checked
    /// against <paramref name="time"/> (the same clock the validated-token cache uses), with the configured skew.
    /// </summary>
    public static TokenValidationParameters Parameters(AuthOptions options, TimeProvider? time = null) => new()
    {
        ValidAlgorithms = [SigningKey.Algorithm],
        RequireSignedTokens = true,
        // The key must be the one the `kid` names: no trying every key of the set.
        TryAllIssuerSigningKeys = false,
        ValidateIssuer = true,
        ValidIssuer = options.Issuer,
        ValidateAudience = true,
        ValidAudience = options.Audience,
        RequireAudience = true,
        ValidateLifetime = true,
        RequireExpirationTime = true,
        ClockSkew = options.ClockSkew,
        LifetimeValidator = LifetimeValidator(time ?? TimeProvider.System, options.ClockSkew),
        NameClaimType = JwtClaims.Subject,
        RoleClaimType = JwtClaims.Role,
    };

    /// <summary>exp required; exp and nbf checked with the clock skew; the reason is the exception JwtBearer reports.</summary>
    private static LifetimeValidator LifetimeValidator(TimeProvider time, TimeSpan skew) =>
        (notBefore, expires, _, _) =>
        {
            var now = time.GetUtcNow().UtcDateTime;
            if (expires is not { } exp)
            {
                throw new SecurityTokenNoExpirationException("Access token has no 'exp'.");
            }
            if (now > exp + skew)
            {
                throw new SecurityTokenExpiredException("Access token has expired.") { Expires = exp };
            }
            if (notBefore is { } nbf && now + skew < nbf)
            {
                throw new SecurityTokenNotYetValidException("Access token is not valid yet.") { NotBefore = nbf };
            }
            return true;
        };

    /// <summary>
    /// On the failure path only: "unknown key" while the service holds no keys at all (auth's JWKS has never been
    /// read) is not the token's fault. The library swallows the configuration error and reports the missing key.
    /// </summary>
    private static async Task<bool> HasKeysAsync(TokenValidationParameters parameters)
    {
        if (parameters.ConfigurationManager is not { } manager)
        {
            return true;
        }
        try
        {
            var configuration = await manager.GetBaseConfigurationAsync(CancellationToken.None).ConfigureAwait(false);
            return configuration?.SigningKeys.Count > 0;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// On the failure path only: the library reports a foreign `alg` (none, HS256 keyed with the public key, RS256…) as
    /// a signature failure; the caller is told the real reason.
    /// </summary>
    private static bool ClaimsEs256(string token)
    {
        try
        {
            return new JsonWebToken(token).Alg == SigningKey.Algorithm;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static TokenValidationResult Refused(Exception exception) => new() { IsValid = false, Exception = exception };

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
}
