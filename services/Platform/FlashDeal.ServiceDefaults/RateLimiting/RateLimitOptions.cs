namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>The "RateLimits" configuration section (docs/rate-limits.md).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Off: no limiter at all (benchmarks; the local mesh with FLASHDEAL_SERVICE_RATE_LIMITS=off).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>ErrorInfo domain of a refusal; defaults to "&lt;service&gt;.flashdeal.dev". An endpoint's
    /// <see cref="ErrorDomainAttribute"/> wins (CouponService's coupons.flashdeal.dev in orders).</summary>
    public string? Domain { get; set; }

    /// <summary>
    /// Peers (addresses or CIDR networks) whose X-Forwarded-For is believed (ASP.NET Core's forwarded headers, read
    /// right to left, stopping at the first hop that is not trusted). Unset: loopback only, where the local edge (nginx)
    /// runs. In Kubernetes list the ingress pods' network. Read even when rate limits are off: auth's failed-log-in
    /// throttle keys callers by the same client address.
    /// </summary>
    public List<string>? TrustedProxies { get; set; }

    public Dictionary<string, RateLimitPolicyOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class RateLimitPolicyOptions
{
    /// <summary>Sustained rate per caller (fractions allowed: 0.5 = one every two seconds).</summary>
    public double PermitsPerSecond { get; set; }

    /// <summary>Calls a caller may make at once after being quiet (the bucket size).</summary>
    public int Burst { get; set; } = 1;

    public RateLimitPartition Partition { get; set; } = RateLimitPartition.User;
}

/// <summary>Who a bucket belongs to.</summary>
public enum RateLimitPartition
{
    /// <summary>The authenticated user (token subject); the client address when the call is anonymous.</summary>
    User,

    /// <summary>Always the client address (log-in, sign-up: the caller is not known yet).</summary>
    Address,
}

/// <summary>Default policies a service registers with <see cref="RateLimitingExtensions.AddRateLimitPolicies"/>.</summary>
public sealed record RateLimitPolicyDefaults(IReadOnlyDictionary<string, RateLimitPolicyOptions> Policies);
