using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using FlashDeal.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// The services' per-caller buckets, as the in-box middleware's global limiter (<c>RateLimiterOptions.GlobalLimiter</c>):
/// the policy is the one the endpoint names with <c>[EnableRateLimiting]</c>, the caller its token's subject (policies
/// partitioned by user, when authenticated) or its client address, and each (policy, caller) has a
/// <see cref="LazyTokenBucket"/> in a concurrent dictionary. Buckets full for <see cref="IdleLimit"/> are swept every
/// <see cref="SweepInterval"/>, without a lock on the request path.
/// <para>
/// Why not the in-box partitioned limiter the policies would build: it keeps every partition in one dictionary behind
/// one lock and walks all of them on a 100 ms heartbeat (replenishing, or checking idleness and removing one by one
/// under that lock). A flash sale brings tens of thousands of buyers to a replica within seconds: measured with 20,000
/// buyers, the heartbeat and the contention on its lock took 15–30 % of the orders service's CPU during the sell-out
/// flood (docs/benchmarks.md). The policies stay registered, as limiters that never refuse, so every
/// <c>[EnableRateLimiting]</c> name keeps its meaning and the start-up check still catches unknown names.
/// </para>
/// </summary>
public sealed class CallerBuckets : PartitionedRateLimiter<HttpContext>
{
    public static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(5);

    private static readonly RateLimitLease Unlimited = new UnlimitedLease();
    private readonly IReadOnlyDictionary<string, RateLimitPolicyOptions> _policies;
    private readonly ConcurrentDictionary<Key, LazyTokenBucket> _buckets = new();
    private readonly Timer _sweep;

    public CallerBuckets(RateLimitOptions options)
    {
        _policies = options.Policies;
        _sweep = new Timer(static state => ((CallerBuckets)state!).Sweep(), this, SweepInterval, SweepInterval);
    }

    /// <summary>Buckets held now (one per caller and policy seen in the last seconds).</summary>
    public int Count => _buckets.Count;

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) =>
        Bucket(resource) is { } bucket ? bucket.GetStatistics() : null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
        Bucket(resource) is { } bucket ? bucket.AttemptAcquire(permitCount) : Unlimited;

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount,
        CancellationToken cancellationToken) => ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    /// <summary>The caller's bucket for the endpoint's policy; null where no policy applies.</summary>
    private LazyTokenBucket? Bucket(HttpContext http)
    {
        var metadata = http.GetEndpoint()?.Metadata;
        if (metadata?.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName is not { } name
            || metadata.GetMetadata<DisableRateLimitingAttribute>() is not null
            || !_policies.TryGetValue(name, out var policy))
        {
            return null;
        }
        var user = policy.Partition == RateLimitPartition.User ? AuthenticatedUser.FromPrincipal(http.User)?.UserId : null;
        var key = user is not null ? new Key(name, true, user) : new Key(name, false, ClientAddress.Key(ClientAddress.Of(http)));
        return _buckets.GetOrAdd(key, static (_, p) => new LazyTokenBucket(p.PermitsPerSecond, p.Burst), policy);
    }

    /// <summary>Drops buckets that have been full for <see cref="IdleLimit"/> (a caller who comes back starts full).</summary>
    public void Sweep()
    {
        foreach (var entry in _buckets)
        {
            if (entry.Value.IdleDuration > IdleLimit)
            {
                _buckets.TryRemove(entry);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sweep.Dispose();
        }
        base.Dispose(disposing);
    }

    private readonly record struct Key(string Policy, bool IsUser, string Caller);

    private sealed class UnlimitedLease : RateLimitLease
    {
        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
