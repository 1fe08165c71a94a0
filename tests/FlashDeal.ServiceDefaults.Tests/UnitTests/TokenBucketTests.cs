using FlashDeal.ServiceDefaults.RateLimiting;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

public sealed class TokenBucketTests
{
    // 2 permits per second, burst 3, on a clock of 1000 ticks per second: one permit every 500 ticks.
    private static readonly BucketLimits Limits = BucketLimits.From(2, 3, 1000);

    [Fact]
    public void LimitsAreTheIntervalAndTheBurstInTicks()
    {
        Assert.Equal(new BucketLimits(500, 1500), Limits);
        Assert.Equal(new BucketLimits(2000, 2000), BucketLimits.From(0.5, 1, 1000));
    }

    [Fact]
    public void FullBucketAllowsTheBurstAtOnceThenRefusesWithTheTimeToTheNextPermit()
    {
        var bucket = new TokenBucket();

        Assert.Equal(3, bucket.Available(0, Limits));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(TakeResult.Taken, bucket.TryTake(0, Limits, out _));
        }
        Assert.Equal(TakeResult.Refused, bucket.TryTake(0, Limits, out var wait));
        Assert.Equal(500, wait);
        Assert.Equal(0, bucket.Available(0, Limits));
    }

    [Fact]
    public void RefillsOnePermitPerInterval()
    {
        var bucket = Drained(now: 1_000);

        Assert.Equal(TakeResult.Refused, bucket.TryTake(1_499, Limits, out var wait));
        Assert.Equal(1, wait);
        Assert.Equal(TakeResult.Taken, bucket.TryTake(1_500, Limits, out _));
        Assert.Equal(TakeResult.Refused, bucket.TryTake(1_500, Limits, out wait));
        Assert.Equal(500, wait);
        Assert.Equal(2, bucket.Available(2_500, Limits));
    }

    [Fact]
    public void RefusedCallsTakeNothing()
    {
        var bucket = Drained(now: 0);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(TakeResult.Refused, bucket.TryTake(100, Limits, out _));
        }
        Assert.Equal(TakeResult.Taken, bucket.TryTake(500, Limits, out _));
    }

    [Fact]
    public void ALongPauseRefillsNoMoreThanTheBurst()
    {
        var bucket = Drained(now: 0);

        var later = 1_000_000;
        Assert.Equal(3, bucket.Available(later, Limits));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(TakeResult.Taken, bucket.TryTake(later, Limits, out _));
        }
        Assert.Equal(TakeResult.Refused, bucket.TryTake(later, Limits, out _));
    }

    [Fact]
    public void SteadyCallsAtTheRateAreAllAllowed()
    {
        var bucket = Drained(now: 0);
        for (var now = 500L; now <= 50_000; now += 500)
        {
            Assert.Equal(TakeResult.Taken, bucket.TryTake(now, Limits, out _));
        }
    }

    [Fact]
    public void OnlyAFullBucketIsEvicted()
    {
        var bucket = new TokenBucket();
        Assert.Equal(TakeResult.Taken, bucket.TryTake(0, Limits, out _));

        Assert.False(bucket.TryEvictIfIdle(499));
        Assert.True(bucket.TryEvictIfIdle(500));
        Assert.Equal(TakeResult.Evicted, bucket.TryTake(500, Limits, out _));
        Assert.False(bucket.TryEvictIfIdle(10_000));
    }

    [Fact]
    public void ConcurrentCallersNeverGetMoreThanTheBurst()
    {
        var limits = BucketLimits.From(1, 50, 1000);
        var bucket = new TokenBucket();
        var taken = 0;

        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                if (bucket.TryTake(0, limits, out _) == TakeResult.Taken)
                {
                    Interlocked.Increment(ref taken);
                }
            }
        });

        Assert.Equal(50, taken);
    }

    private static TokenBucket Drained(long now)
    {
        var bucket = new TokenBucket();
        while (bucket.TryTake(now, Limits, out _) == TakeResult.Taken)
        {
        }
        return bucket;
    }
}
