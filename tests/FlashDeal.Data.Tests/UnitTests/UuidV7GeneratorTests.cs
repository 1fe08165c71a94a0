namespace FlashDeal.Data.Tests.UnitTests;

public class UuidV7GeneratorTests
{
    private static readonly DateTimeOffset Noon = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void IdsAreVersion7WithTheRfcVariant()
    {
        var id = UuidV7Generator.Default.NewGuid();

        Assert.Equal(7, id.Version);
        Assert.Equal(0b10, id.ToByteArray(bigEndian: true)[8] >> 6);
    }

    [Fact]
    public void IdCarriesTheClockTimeInMilliseconds()
    {
        var clock = new ManualClock(Noon.AddTicks(1234));
        var id = new UuidV7Generator(clock).NewGuid();

        Assert.Equal(Noon, UuidV7Generator.GetTimestamp(id));
        Assert.StartsWith($"{Noon.ToUnixTimeMilliseconds():x12}", id.ToString("N"));
    }

    [Fact]
    public void IdsStrictlyIncreaseWithinOneMillisecond()
    {
        var generator = new UuidV7Generator(new ManualClock(Noon));
        var ids = Enumerable.Range(0, 10_000).Select(_ => generator.NewGuid()).ToList();

        AssertStrictlyIncreasing(ids);
    }

    [Fact]
    public void CounterOverflowBorrowsTheNextMillisecond()
    {
        var generator = new UuidV7Generator(new ManualClock(Noon));
        var ids = Enumerable.Range(0, 5_000).Select(_ => generator.NewGuid()).ToList();

        Assert.True(UuidV7Generator.GetTimestamp(ids[^1]) > Noon);
        AssertStrictlyIncreasing(ids);
    }

    [Fact]
    public void IdsKeepIncreasingWhenTheClockStepsBack()
    {
        var clock = new ManualClock(Noon);
        var generator = new UuidV7Generator(clock);
        var before = generator.NewGuid();
        clock.Now = Noon.AddSeconds(-5);
        var after = generator.NewGuid();

        Assert.True(after.CompareTo(before) > 0);
    }

    [Fact]
    public void IdsFromManyThreadsAreUnique()
    {
        var generator = new UuidV7Generator(TimeProvider.System);
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                ids.Add(generator.NewGuid());
            }
        });

        Assert.Equal(40_000, ids.Distinct().Count());
    }

    [Fact]
    public void TimestampOfAnotherVersionIsRefused() =>
        Assert.Throws<ArgumentException>(() => UuidV7Generator.GetTimestamp(Guid.NewGuid()));

    private static void AssertStrictlyIncreasing(IReadOnlyList<Guid> ids)
    {
        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(ids[i].CompareTo(ids[i - 1]) > 0, $"id {i} does not sort after id {i - 1}");
            // PostgreSQL compares uuid bytes in RFC order; the text form shows that order.
            Assert.True(string.CompareOrdinal(ids[i].ToString(), ids[i - 1].ToString()) > 0);
        }
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
