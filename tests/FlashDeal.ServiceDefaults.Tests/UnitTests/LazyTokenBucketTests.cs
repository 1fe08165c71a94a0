using System.Diagnostics;
using System.Threading.RateLimiting;
using FlashDeal.ServiceDefaults.RateLimiting;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

/// <summary>
/// The per-partition bucket: a full burst at once, then refusals that say when to come back, and a refill computed
/// from elapsed time (rates slow enough that a busy machine cannot refill a token between two statements).
/// </summary>
public class LazyTokenBucketTests
{
    [Fact]
    public void GrantsTheBurstThenRefusesWithRetryAfter()
    {
        using var bucket = new LazyTokenBucket(permitsPerSecond: 0.001, burst: 3);

        for (var i = 0; i < 3; i++)
        {
            using var lease = bucket.AttemptAcquire();
            Assert.True(lease.IsAcquired, $"permit {i + 1} of the burst");
        }
        using var refused = bucket.AttemptAcquire();
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        // One token every 1000 s: the next one is at most that far away, and not already here.
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(900), TimeSpan.FromSeconds(1000));
        Assert.Equal(0, bucket.GetStatistics()!.CurrentAvailablePermits);
    }

    [Fact]
    public async Task RefillsAtItsRate()
    {
        using var bucket = new LazyTokenBucket(permitsPerSecond: 50, burst: 1);
        using (var first = bucket.AttemptAcquire())
        {
            Assert.True(first.IsAcquired);
        }
        var emptied = Stopwatch.StartNew();
        // One token per 20 ms: granted again once that has passed, however slow the machine (bounded wait).
        while (emptied.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var lease = bucket.AttemptAcquire();
            if (lease.IsAcquired)
            {
                Assert.True(emptied.Elapsed >= TimeSpan.FromMilliseconds(15), $"refilled after {emptied.Elapsed}");
                return;
            }
            await Task.Delay(5);
        }
        Assert.Fail("no token after 10 s at 50 per second");
    }

    [Fact]
    public void NeverHoldsMoreThanTheBurst()
    {
        using var bucket = new LazyTokenBucket(permitsPerSecond: 1_000_000, burst: 2);
        Thread.Sleep(20);

        Assert.Equal(2, bucket.GetStatistics()!.CurrentAvailablePermits);
        using var tooMany = bucket.AttemptAcquire(3);
        Assert.False(tooMany.IsAcquired);
        Assert.False(tooMany.TryGetMetadata(MetadataName.RetryAfter, out _));
    }

    [Fact]
    public void IsIdleOnlyWhileFull()
    {
        using var bucket = new LazyTokenBucket(permitsPerSecond: 0.001, burst: 2);
        Assert.NotNull(bucket.IdleDuration);

        using var lease = bucket.AttemptAcquire();
        Assert.True(lease.IsAcquired);
        Assert.Null(bucket.IdleDuration);
    }
}
