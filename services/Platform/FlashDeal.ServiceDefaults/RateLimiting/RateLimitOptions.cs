namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>The "RateLimits" configuration section (docs/rate-limits.md).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Off: no interceptor is installed at all (benchmarks; the local mesh with FLASHDEAL_SERVICE_RATE_LIMITS=off).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>ErrorInfo domain of a refusal; defaults to "&lt;service&gt;.flashdeal.dev".</summary>
    public string? Domain { get; set; }

    /// <summary>Most (policy, caller) buckets one replica keeps; callers beyond it share one bucket per policy.</summary>
    public int MaxTrackedKeys { get; set; } = 100_000;

    /// <summary>How often buckets that have filled up again are dropped.</summary>
    public TimeSpan IdleSweepInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Peers (addresses or CIDR networks) whose X-Forwarded-For is believed. Unset: loopback only, where the local edge
    /// (nginx) runs. In Kubernetes list the ingress pods' network. Read even when rate limits are off: auth's
    /// failed-log-in throttle uses the same <see cref="ClientAddressResolver"/>.
    /// </summary>
    public List<string>? TrustedProxies { get; set; }

    public Dictionary<string, RateLimitPolicyOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Policy per RPC, overriding the [EnableRateLimiting] attributes: key "PlaceOrder" or
    /// "flashdeal.orders.v1.OrderService.PlaceOrder", value a policy name or "none".
    /// </summary>
    public Dictionary<string, string> Methods { get; set; } = [];
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

/// <summary>A configured policy, resolved for the limiter's clock.</summary>
public sealed class RateLimitPolicy
{
    internal RateLimitPolicy(string name, int index, RateLimitPolicyOptions options, long ticksPerSecond)
    {
        Name = name;
        Index = index;
        PermitsPerSecond = options.PermitsPerSecond;
        Burst = options.Burst;
        Partition = options.Partition;
        Limits = BucketLimits.From(options.PermitsPerSecond, options.Burst, ticksPerSecond);
    }

    public string Name { get; }

    /// <summary>Position among the limiter's policies (part of <see cref="RateLimitKey"/>).</summary>
    public int Index { get; }

    public double PermitsPerSecond { get; }

    public int Burst { get; }

    public RateLimitPartition Partition { get; }

    public BucketLimits Limits { get; }
}
