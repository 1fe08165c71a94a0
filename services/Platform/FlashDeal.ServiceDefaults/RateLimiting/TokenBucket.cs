namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>A bucket's refill rate and size in clock ticks: one permit every <see cref="Interval"/>, at most
/// <see cref="Capacity"/> ticks (= burst × interval) of permits saved up.</summary>
public readonly record struct BucketLimits(long Interval, long Capacity)
{
    public static BucketLimits From(double permitsPerSecond, int burst, long ticksPerSecond)
    {
        var interval = Math.Max(1, (long)Math.Round(ticksPerSecond / permitsPerSecond));
        return new BucketLimits(interval, interval * burst);
    }
}

public enum TakeResult
{
    Taken,
    Refused,

    /// <summary>The bucket was swept away while idle: look the key up again.</summary>
    Evicted,
}

/// <summary>
/// A token bucket kept as one number, the theoretical arrival time (TAT) of the next permit (the GCRA form of the same
/// algorithm): a call is allowed when, after adding one interval, the TAT is at most <c>Capacity</c> ahead of now.
/// Refill needs no timer, a full bucket is any TAT in the past, and one compare-and-swap takes a permit, so the hot path
/// takes no lock.
/// </summary>
public sealed class TokenBucket
{
    private const long EvictedMark = long.MinValue;

    private long _tat;

    /// <summary>A full bucket.</summary>
    public TokenBucket() => _tat = long.MinValue + 1;

    /// <summary>Takes one permit at <paramref name="now"/>, or says how many ticks until one is there.</summary>
    public TakeResult TryTake(long now, BucketLimits limits, out long waitTicks)
    {
        while (true)
        {
            var tat = Volatile.Read(ref _tat);
            if (tat == EvictedMark)
            {
                waitTicks = 0;
                return TakeResult.Evicted;
            }
            var next = Math.Max(tat, now) + limits.Interval;
            var ahead = next - now;
            if (ahead > limits.Capacity)
            {
                waitTicks = ahead - limits.Capacity;
                return TakeResult.Refused;
            }
            if (Interlocked.CompareExchange(ref _tat, next, tat) == tat)
            {
                waitTicks = 0;
                return TakeResult.Taken;
            }
        }
    }

    /// <summary>Whole permits available at <paramref name="now"/> (for tests and diagnostics).</summary>
    public long Available(long now, BucketLimits limits)
    {
        var tat = Volatile.Read(ref _tat);
        if (tat == EvictedMark)
        {
            return 0;
        }
        var used = Math.Max(0, tat - now);
        return (limits.Capacity - used) / limits.Interval;
    }

    /// <summary>
    /// Marks a full bucket (TAT not after now) as gone, so a caller still holding it looks the key up again instead
    /// of taking a permit nobody will remember. A full bucket carries no history: dropping it changes no decision.
    /// </summary>
    public bool TryEvictIfIdle(long now)
    {
        var tat = Volatile.Read(ref _tat);
        return tat != EvictedMark && tat <= now && Interlocked.CompareExchange(ref _tat, EvictedMark, tat) == tat;
    }
}
