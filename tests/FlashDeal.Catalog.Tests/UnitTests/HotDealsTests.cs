using FlashDeal.Catalog.Deals;
using FlashDeal.Contracts.Catalog.V1;
using Microsoft.Extensions.Options;

namespace FlashDeal.Catalog.Tests.UnitTests;

public sealed class HotDealsTests
{
    /// <summary>A clock the test moves by hand (TimeProvider's timestamps, in ticks).</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; } = 1_000_000;

        public override long GetTimestamp() => Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    private static readonly Guid DealId = Guid.Parse("01a24000-0000-7000-8000-000000000001");

    private static HotDeals Hot(ManualClock clock, string ttl = "00:00:00.100", bool cacheEnabled = true) =>
        new(Options.Create(new CatalogOptions { LocalReadTtl = TimeSpan.Parse(ttl), CacheEnabled = cacheEnabled }), clock);

    [Fact]
    public void AnswersWhileYoungWithTheClockMovedOnThenForgets()
    {
        var clock = new ManualClock();
        var hot = Hot(clock);
        var readAt = new DateTime(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc);
        hot.Set(DealId, new Deal { Title = "copied" }, new StockReading(readAt, 7, Live: true));

        clock.Ticks += TimeSpan.FromMilliseconds(60).Ticks;
        Assert.True(hot.TryGet(DealId, out var deal, out var reading));
        Assert.Equal("copied", deal.Title);
        Assert.Equal(7, reading.Remaining);
        Assert.Equal(readAt.AddMilliseconds(60), reading.Now); // a deal opening in between turns LIVE on time

        clock.Ticks += TimeSpan.FromMilliseconds(40).Ticks; // 100 ms: as old as the TTL
        Assert.False(hot.TryGet(DealId, out _, out _));
    }

    [Fact]
    public void RemoveDropsTheCopy()
    {
        var hot = Hot(new ManualClock());
        hot.Set(DealId, new Deal(), new StockReading(DateTime.UtcNow, 1, Live: true));
        hot.Remove(DealId);
        Assert.False(hot.TryGet(DealId, out _, out _));
    }

    [Theory]
    [InlineData("00:00:00", true)]
    [InlineData("00:00:01", false)]
    public void OffWithAZeroTtlOrWithoutTheReadCache(string ttl, bool cacheEnabled)
    {
        var hot = Hot(new ManualClock(), ttl, cacheEnabled);
        hot.Set(DealId, new Deal(), new StockReading(DateTime.UtcNow, 1, Live: true));
        Assert.False(hot.TryGet(DealId, out _, out _));
    }
}
