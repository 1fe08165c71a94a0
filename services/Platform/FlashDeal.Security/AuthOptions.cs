namespace FlashDeal.Security;

/// <summary>Settings of the "Auth" configuration section, shared by the token issuer and every validating service.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>The `iss` claim: written by the issuer, required by validators.</summary>
    public string Issuer { get; set; } = "https://auth.flashdeal.dev";

    /// <summary>The `aud` claim: written by the issuer, required by validators.</summary>
    public string Audience { get; set; } = "flashdeal";

    /// <summary>Where validators fetch the public keys (the auth service's REST port).</summary>
    public Uri JwksUrl { get; set; } = new("http://auth:8080/.well-known/jwks.json");

    /// <summary>Tolerance for `exp` and `nbf` between hosts whose clocks differ.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a fetched JWKS counts as fresh; afterwards the next call refreshes it in the background (IdentityModel's
    /// ConfigurationManager.AutomaticRefreshInterval, which allows 5 minutes at the least).
    /// </summary>
    public TimeSpan JwksRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// At most one fetch per this interval, however many tokens carry an unknown `kid`; a call naming a new key waits for
    /// that fetch and is validated again (<see cref="JwksConfigurationManager"/>; also ConfigurationManager.RefreshInterval,
    /// at least one second).
    /// </summary>
    public TimeSpan JwksMinRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan JwksFetchTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many validated tokens each process remembers until they expire (0 = verify every call).</summary>
    public int ValidatedTokenCacheSize { get; set; } = 10_000;

    /// <summary>
    /// Longest bearer token accepted (characters); longer ones are refused before any parsing. Real tokens are well
    /// under 1 KiB.
    /// </summary>
    public int MaxTokenLength { get; set; } = 8 * 1024;

    /// <summary>Private keys of the issuer (auth service only).</summary>
    public SigningKeyOptions SigningKeys { get; set; } = new();
}

/// <summary>
/// Where the issuer's ES256 keys come from: PEM files in a directory (a mounted Kubernetes Secret, one "&lt;kid&gt;.pem" per
/// key) and/or listed keys. All of them are published in the JWKS; <see cref="ActiveKeyId"/> signs once it has been
/// published for <see cref="PublishBeforeSigning"/>.
/// </summary>
public sealed class SigningKeyOptions
{
    public string? Directory { get; set; }

    /// <summary>
    /// Required when more than one private key is configured, unless the directory holds an "active-kid" file naming it.
    /// </summary>
    public string? ActiveKeyId { get; set; }

    /// <summary>
    /// How long a key is published before it signs, counted from the first time any auth replica saw it (recorded in
    /// PostgreSQL). Longer than the validators' <see cref="AuthOptions.JwksRefreshInterval"/> (5 min, plus up to 5 %
    /// jitter) and the time a changed Secret takes to reach every auth pod (the kubelet's sync, about a minute).
    /// </summary>
    public TimeSpan PublishBeforeSigning { get; set; } = TimeSpan.FromMinutes(7);

    /// <summary>How often the key directory is read again (a mounted Secret changes in place).</summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(10);

    public List<SigningKeyEntry> Keys { get; set; } = [];
}

/// <summary>One configured key: inline PEM or a PEM file path.</summary>
public sealed class SigningKeyEntry
{
    public string KeyId { get; set; } = "";

    public string? Pem { get; set; }

    public string? Path { get; set; }
}
