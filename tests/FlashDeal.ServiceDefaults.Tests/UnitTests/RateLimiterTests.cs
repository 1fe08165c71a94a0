using FlashDeal.ServiceDefaults.RateLimiting;
using FlashDeal.TestInfrastructure;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

public sealed class RateLimiterTests
{
    private readonly ManualTimeProvider _clock = new();

    [Fact]
    public void EachCallerHasItsOwnBucket()
    {
        var limiter = Limiter(permitsPerSecond: 1, burst: 2);
        var policy = limiter.Policies["test"];

        Assert.True(limiter.TryAcquire(policy, User(policy, "ada")).Allowed);
        Assert.True(limiter.TryAcquire(policy, User(policy, "ada")).Allowed);
        var refused = limiter.TryAcquire(policy, User(policy, "ada"));

        Assert.False(refused.Allowed);
        Assert.False(refused.Shared);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
        Assert.True(limiter.TryAcquire(policy, User(policy, "grace")).Allowed);
        Assert.True(limiter.TryAcquire(policy, Address(policy, 7)).Allowed);
    }

    [Fact]
    public void PoliciesKeepSeparateBucketsForTheSameCaller()
    {
        var limiter = new RateLimiter(Options(("a", 1, 1), ("b", 1, 1)), _clock);
        var (a, b) = (limiter.Policies["a"], limiter.Policies["b"]);

        Assert.True(limiter.TryAcquire(a, User(a, "ada")).Allowed);
        Assert.False(limiter.TryAcquire(a, User(a, "ada")).Allowed);
        Assert.True(limiter.TryAcquire(b, User(b, "ada")).Allowed);
    }

    [Fact]
    public void TheClockRefillsTheBucket()
    {
        var limiter = Limiter(permitsPerSecond: 4, burst: 1);
        var policy = limiter.Policies["test"];
        Assert.True(limiter.TryAcquire(policy, User(policy, "ada")).Allowed);
        Assert.Equal(TimeSpan.FromMilliseconds(250), limiter.TryAcquire(policy, User(policy, "ada")).RetryAfter);

        _clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(150), limiter.TryAcquire(policy, User(policy, "ada")).RetryAfter);

        _clock.Advance(TimeSpan.FromMilliseconds(150));
        Assert.True(limiter.TryAcquire(policy, User(policy, "ada")).Allowed);
    }

    [Fact]
    public void SweepDropsOnlyBucketsThatFilledUpAgain()
    {
        var limiter = Limiter(permitsPerSecond: 1, burst: 2);
        var policy = limiter.Policies["test"];
        limiter.TryAcquire(policy, User(policy, "quiet"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        limiter.TryAcquire(policy, User(policy, "busy"));
        Assert.Equal(2, limiter.TrackedKeys);

        Assert.Equal(1, limiter.SweepIdle());

        Assert.Equal(1, limiter.TrackedKeys);
        // The busy caller's bucket (and its history) survived: one permit left of two.
        Assert.True(limiter.TryAcquire(policy, User(policy, "busy")).Allowed);
        Assert.False(limiter.TryAcquire(policy, User(policy, "busy")).Allowed);
    }

    [Fact]
    public void AFloodOfDistinctKeysNeverGrowsTheTablePastItsCap()
    {
        var limiter = Limiter(permitsPerSecond: 1, burst: 5, maxTrackedKeys: 100);
        var policy = limiter.Policies["test"];
        var allowed = 0;
        var shared = 0;
        var largest = 0;

        Parallel.For(0, 20_000, i =>
        {
            var decision = limiter.TryAcquire(policy, Address(policy, (ulong)i + 1));
            if (decision.Allowed)
            {
                Interlocked.Increment(ref allowed);
            }
            if (decision.Shared)
            {
                Interlocked.Increment(ref shared);
            }
            var tracked = limiter.TrackedKeys;
            int seen;
            while (tracked > (seen = Volatile.Read(ref largest)) && Interlocked.CompareExchange(ref largest, tracked, seen) != seen)
            {
            }
        });

        Assert.Equal(100, limiter.TrackedKeys);
        Assert.InRange(largest, 100, 100);
        Assert.Equal(20_000 - 100, shared);
        // 100 callers with their own bucket, plus one burst for everybody else together.
        Assert.Equal(100 + 5, allowed);
    }

    [Fact]
    public void AFullTableMakesRoomFromIdleBucketsAtMostOnceASecond()
    {
        var limiter = Limiter(permitsPerSecond: 10, burst: 1, maxTrackedKeys: 10);
        var policy = limiter.Policies["test"];
        for (var i = 1; i <= 10; i++)
        {
            Assert.False(limiter.TryAcquire(policy, User(policy, $"u{i}")).Shared);
        }
        Assert.True(limiter.TryAcquire(policy, User(policy, "late")).Shared);

        // The buckets are full again after 100 ms, but the table only sweeps a second after the last sweep.
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(limiter.TryAcquire(policy, User(policy, "later")).Shared);

        _clock.Advance(TimeSpan.FromMilliseconds(500));
        var decision = limiter.TryAcquire(policy, User(policy, "latest"));
        Assert.True(decision.Allowed);
        Assert.False(decision.Shared);
        Assert.Equal(1, limiter.TrackedKeys);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-1, 1)]
    [InlineData(1, 0)]
    [InlineData(double.NaN, 1)]
    public void AnImpossiblePolicyFailsNamingIt(double permitsPerSecond, int burst)
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new RateLimiter(Options(("place-order", permitsPerSecond, burst)), _clock));
        Assert.Contains("RateLimits:Policies:place-order", error.Message);
    }

    private RateLimiter Limiter(double permitsPerSecond, int burst, int maxTrackedKeys = 1000)
    {
        var options = Options(("test", permitsPerSecond, burst));
        options.MaxTrackedKeys = maxTrackedKeys;
        options.IdleSweepInterval = TimeSpan.FromHours(1);
        return new RateLimiter(options, _clock);
    }

    private static RateLimitOptions Options(params (string Name, double PermitsPerSecond, int Burst)[] policies) => new()
    {
        Policies = policies.ToDictionary(p => p.Name,
            p => new RateLimitPolicyOptions { PermitsPerSecond = p.PermitsPerSecond, Burst = p.Burst }),
    };

    private static RateLimitKey User(RateLimitPolicy policy, string user) => new(policy.Index, user, UInt128.Zero);

    private static RateLimitKey Address(RateLimitPolicy policy, ulong address) => new(policy.Index, null, address);
}
