using System.Diagnostics;
using System.Threading.RateLimiting;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// A token bucket that refills when it is asked, not on a timer: <c>burst</c> tokens at most, <c>rate</c> tokens per
/// second, computed from the time since the last call. <see cref="CallerBuckets"/> keeps one per caller and policy, in
/// place of the in-box <see cref="TokenBucketRateLimiter"/>, whose replenishment runs on timers (why: CallerBuckets).
/// <see cref="IdleDuration"/> says how long it has been full, so idle buckets can be dropped. No queueing: a permit is
/// granted now or refused with <see cref="MetadataName.RetryAfter"/>.
/// </summary>
public sealed class LazyTokenBucket : RateLimiter
{
    private static readonly RateLimitLease Granted = new Lease(true, null);
    private readonly double _burst;
    private readonly double _ticksPerToken;
    private readonly object _lock = new();
    private double _tokens;
    private long _updated;

    public LazyTokenBucket(double permitsPerSecond, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permitsPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        _burst = burst;
        _ticksPerToken = Stopwatch.Frequency / permitsPerSecond;
        _tokens = burst;
        _updated = Stopwatch.GetTimestamp();
    }

    /// <summary>How long the bucket has been full (null while it is not): CallerBuckets drops idle buckets.</summary>
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                var fullAt = _updated + (long)((_burst - _tokens) * _ticksPerToken);
                var now = Stopwatch.GetTimestamp();
                return now >= fullAt ? Stopwatch.GetElapsedTime(fullAt, now) : null;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            Refill(Stopwatch.GetTimestamp());
            return new RateLimiterStatistics { CurrentAvailablePermits = (long)_tokens };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (_lock)
        {
            Refill(Stopwatch.GetTimestamp());
            if (_tokens >= permitCount)
            {
                _tokens -= permitCount;
                return Granted;
            }
            if (permitCount > _burst)
            {
                return new Lease(false, null);
            }
            var wait = TimeSpan.FromSeconds((permitCount - _tokens) * _ticksPerToken / Stopwatch.Frequency);
            return new Lease(false, wait);
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private void Refill(long now)
    {
        var elapsed = now - _updated;
        if (elapsed > 0)
        {
            _tokens = Math.Min(_burst, _tokens + elapsed / _ticksPerToken);
            _updated = now;
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames =>
            retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } delay && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = delay;
                return true;
            }
            metadata = null;
            return false;
        }
    }
}
