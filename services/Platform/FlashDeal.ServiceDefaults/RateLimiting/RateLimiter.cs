using System.Collections.Concurrent;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>Whose bucket: a policy and either a user id or a client address (IPv4, or an IPv6 /64, as 128 bits).</summary>
public readonly record struct RateLimitKey(int Policy, string? User, UInt128 Address);

/// <summary>The answer for one call. <see cref="Shared"/>: the caller had no bucket of its own (the table was full).</summary>
public readonly record struct RateLimitDecision(bool Allowed, TimeSpan RetryAfter, bool Shared)
{
    public static readonly RateLimitDecision Allow = new(true, TimeSpan.Zero, false);
}

/// <summary>
/// In-process token buckets, one per (policy, caller), for this replica only: no network round trip on the hot path, and
/// the edge (nginx, Kong) holds the global limit. Memory is bounded twice: full buckets are swept away (they carry no
/// history), and at most <see cref="RateLimitOptions.MaxTrackedKeys"/> buckets exist. When the table is full even
/// after a sweep, callers without a bucket share one bucket per policy, so a flood of distinct keys can neither grow
/// memory nor turn into unlimited calls.
/// </summary>
public sealed class RateLimiter
{
    /// <summary>DI key of the clock the limiter reads (tests replace it with a manual one).</summary>
    public const string ClockKey = "FlashDeal.RateLimits.Clock";

    private static readonly TimeSpan MinFullSweepInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<RateLimitKey, TokenBucket> _buckets = new();
    private readonly TokenBucket[] _shared;
    private readonly TimeProvider _clock;
    private readonly int _maxTrackedKeys;
    private readonly long _sweepIntervalTicks;
    private readonly long _fullSweepIntervalTicks;
    private int _count;
    private int _sweeping;
    private long _lastSweep;

    public RateLimiter(RateLimitOptions options, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTrackedKeys, 1, "RateLimits:MaxTrackedKeys");
        _clock = clock;
        _maxTrackedKeys = options.MaxTrackedKeys;
        _sweepIntervalTicks = Ticks(options.IdleSweepInterval);
        _fullSweepIntervalTicks = Ticks(MinFullSweepInterval);
        _lastSweep = clock.GetTimestamp();
        var policies = new Dictionary<string, RateLimitPolicy>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, policy) in options.Policies.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!(policy.PermitsPerSecond > 0 && double.IsFinite(policy.PermitsPerSecond)) || policy.Burst < 1)
            {
                throw new InvalidOperationException(
                    $"RateLimits:Policies:{name}: PermitsPerSecond must be positive and Burst at least 1.");
            }
            policies.Add(name, new RateLimitPolicy(name, policies.Count, policy, clock.TimestampFrequency));
        }
        Policies = policies;
        _shared = policies.Values.Select(_ => new TokenBucket()).ToArray();
    }

    public IReadOnlyDictionary<string, RateLimitPolicy> Policies { get; }

    /// <summary>Buckets held right now (never more than MaxTrackedKeys).</summary>
    public int TrackedKeys => Volatile.Read(ref _count);

    public RateLimitDecision TryAcquire(RateLimitPolicy policy, in RateLimitKey key)
    {
        var now = _clock.GetTimestamp();
        while (true)
        {
            var shared = false;
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                bucket = Track(key, now);
                if (bucket is null)
                {
                    bucket = _shared[policy.Index];
                    shared = true;
                }
            }
            switch (bucket.TryTake(now, policy.Limits, out var wait))
            {
                case TakeResult.Taken:
                    return shared ? new RateLimitDecision(true, TimeSpan.Zero, true) : RateLimitDecision.Allow;
                case TakeResult.Refused:
                    return new RateLimitDecision(false, ToTimeSpan(wait), shared);
            }
            // Evicted between lookup and take: the key starts over with a fresh bucket.
        }
    }

    /// <summary>Drops every bucket that has filled up again; returns how many.</summary>
    public int SweepIdle()
    {
        if (Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0)
        {
            return 0;
        }
        try
        {
            var now = _clock.GetTimestamp();
            var removed = 0;
            foreach (var entry in _buckets)
            {
                if (entry.Value.TryEvictIfIdle(now) && _buckets.TryRemove(entry))
                {
                    Interlocked.Decrement(ref _count);
                    removed++;
                }
            }
            Volatile.Write(ref _lastSweep, now);
            return removed;
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>A new bucket for the key, or null when the table is full (the caller then uses the shared one).</summary>
    private TokenBucket? Track(in RateLimitKey key, long now)
    {
        while (true)
        {
            if (!TryReserveSlot())
            {
                // Full: free the idle buckets at most once a second (a sweep is O(n); doing one per call would hand a
                // key flood a way to burn CPU), then try once more.
                if (now - Volatile.Read(ref _lastSweep) < _fullSweepIntervalTicks || SweepIdle() == 0 || !TryReserveSlot())
                {
                    return null;
                }
            }
            var created = new TokenBucket();
            if (_buckets.TryAdd(key, created))
            {
                if (now - Volatile.Read(ref _lastSweep) >= _sweepIntervalTicks && Volatile.Read(ref _sweeping) == 0)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static limiter => limiter.SweepIdle(), this, preferLocal: false);
                }
                return created;
            }
            Interlocked.Decrement(ref _count);
            if (_buckets.TryGetValue(key, out var existing))
            {
                return existing;
            }
        }
    }

    private bool TryReserveSlot()
    {
        if (Interlocked.Increment(ref _count) <= _maxTrackedKeys)
        {
            return true;
        }
        Interlocked.Decrement(ref _count);
        return false;
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _clock.TimestampFrequency);

    private TimeSpan ToTimeSpan(long ticks) => TimeSpan.FromSeconds((double)ticks / _clock.TimestampFrequency);
}
