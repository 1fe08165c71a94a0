using FlashDeal.Auth.Throttling;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class InProcessAttemptCounterTests
{
    private static readonly LogInThrottleOptions Limits = new()
    {
        MaxFailuresPerAccount = 3,
        MaxFailuresPerAddress = 5,
        Window = TimeSpan.FromMinutes(15),
    };

    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void AccountIsBlockedAtItsLimitUntilTheWindowEnds()
    {
        var counter = new InProcessAttemptCounter(_time);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);
        }
        _time.Advance(TimeSpan.FromMinutes(5));

        var blocked = counter.TryBegin("account:a", "address:y", Limits);

        Assert.False(blocked.Allowed);
        Assert.Equal(ThrottleScope.Account, blocked.LimitedBy);
        Assert.Equal(TimeSpan.FromMinutes(10), blocked.RetryAfter);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(counter.TryBegin("account:a", "address:y", Limits).Allowed);
    }

    [Fact]
    public void AddressIsBlockedAcrossAccounts()
    {
        var counter = new InProcessAttemptCounter(_time);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(counter.TryBegin($"account:{i}", "address:x", Limits).Allowed);
        }

        var blocked = counter.TryBegin("account:new", "address:x", Limits);

        Assert.Equal(ThrottleScope.Address, blocked.LimitedBy);
        Assert.True(counter.TryBegin("account:new", "address:other", Limits).Allowed);
    }

    [Fact]
    public void AWithdrawnAttemptCountsAgainstNeither()
    {
        var counter = new InProcessAttemptCounter(_time);
        Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);   // a failure that stays counted
        for (var i = 0; i < 10; i++)
        {
            Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);
            counter.Withdraw("account:a", "address:x");                            // shed before its password was checked
        }

        Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);
        Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);
        Assert.Equal(ThrottleScope.Account, counter.TryBegin("account:a", "address:x", Limits).LimitedBy); // 3 counted, not 13
    }

    [Fact]
    public void SuccessForgivesTheAccountAndReturnsTheAddressAttempt()
    {
        var counter = new InProcessAttemptCounter(_time);
        for (var round = 0; round < 2; round++)
        {
            Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);   // failure
            Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);   // failure
            Assert.True(counter.TryBegin("account:a", "address:x", Limits).Allowed);   // success
            counter.End("account:a", "address:x");
        }

        // Four failures count against the address (limit 5), the two successes do not; account a starts afresh.
        Assert.True(counter.TryBegin("account:b", "address:x", Limits).Allowed);
        Assert.Equal(ThrottleScope.Address, counter.TryBegin("account:b", "address:x", Limits).LimitedBy);
        Assert.True(counter.TryBegin("account:a", "address:y", Limits).Allowed);
    }
}

public sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks = new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
