using FlashDeal.Load;

namespace FlashDeal.Load.Tests;

public class LatencyHistogramTests
{
    [Fact]
    public void PercentilesOfAUniformRangeAreNeverBelowTheTrueValueAndWithinTheRelativeError()
    {
        var histogram = new LatencyHistogram();
        for (var v = 1; v <= 100_000; v++)
        {
            histogram.Record(v);
        }

        Assert.Equal(100_000, histogram.Count);
        Assert.Equal(1, histogram.Min);
        Assert.Equal(100_000, histogram.Max);
        Assert.Equal(50_000.5, histogram.Mean, precision: 6);
        foreach (var (percentile, exact) in new[] { (50.0, 50_000L), (90.0, 90_000L), (99.0, 99_000L), (99.99, 99_990L) })
        {
            var reported = histogram.ValueAtPercentile(percentile);
            Assert.InRange(reported, exact, (long)(exact * (1 + histogram.RelativeError)));
        }
        Assert.Equal(100_000, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void SmallValuesAreKeptExactly()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(3, count: 3);
        histogram.Record(10);
        histogram.Record(200);

        Assert.Equal(3, histogram.ValueAtPercentile(0));
        Assert.Equal(3, histogram.ValueAtPercentile(60));
        Assert.Equal(10, histogram.ValueAtPercentile(80));
        Assert.Equal(200, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void PercentileRankIsNotPushedUpByFloatingPointNoise()
    {
        var histogram = new LatencyHistogram();
        for (var v = 1; v <= 1000; v++)
        {
            histogram.Record(v);
        }

        // 99.9 / 100 * 1000 is 999.0000000000001 in doubles; the 999th value is the answer, not the 1000th.
        Assert.Equal(999, histogram.ValueAtPercentile(99.9));
    }

    [Fact]
    public void MergingPerWorkerHistogramsEqualsRecordingEverythingInOne()
    {
        var random = new Random(7);
        var all = new LatencyHistogram();
        var workers = new[] { new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram() };
        for (var i = 0; i < 30_000; i++)
        {
            var value = (long)Math.Exp(random.NextDouble() * 16); // 1 .. ~9e6, spread over many powers of two
            all.Record(value);
            workers[i % workers.Length].Record(value);
        }
        var merged = new LatencyHistogram();
        foreach (var worker in workers)
        {
            merged.Merge(worker);
        }
        merged.Merge(new LatencyHistogram());

        Assert.Equal(all.Count, merged.Count);
        Assert.Equal(all.Min, merged.Min);
        Assert.Equal(all.Max, merged.Max);
        Assert.Equal(all.Mean, merged.Mean, precision: 6);
        foreach (var percentile in new[] { 0.0, 25, 50, 95, 99, 99.9, 100 })
        {
            Assert.Equal(all.ValueAtPercentile(percentile), merged.ValueAtPercentile(percentile));
        }
    }

    [Fact]
    public void MergingHistogramsOfDifferentPrecisionIsRejected() =>
        Assert.Throws<ArgumentException>(() => new LatencyHistogram(7).Merge(new LatencyHistogram(8)));

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(12)]
    public void EveryValueFallsInABucketNoWiderThanTheRelativeErrorAllows(int precisionBits)
    {
        var histogram = new LatencyHistogram(precisionBits);
        var random = new Random(precisionBits);
        var values = new List<long> { 0, 1, 127, 128, 255, 256, 1000, 4095, 4096, long.MaxValue - 1, long.MaxValue };
        for (var i = 0; i < 5000; i++)
        {
            values.Add(random.NextInt64() >> random.Next(63));
        }

        foreach (var value in values)
        {
            var low = histogram.LowestEquivalentValue(value);
            var high = histogram.HighestEquivalentValue(value);
            Assert.InRange(value, low, high);
            var allowedWidth = Math.Max(1.0, low * histogram.RelativeError);
            Assert.True(high - low + 1 <= allowedWidth, $"{value}: bucket [{low}, {high}] wider than {allowedWidth}");
            histogram.Record(value);
        }
        Assert.Equal(long.MaxValue, histogram.Max);
        Assert.Equal(long.MaxValue, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void EmptyAndResetHistogramsReportZeroAndNegativeValuesAreRejected()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(42);
        histogram.Reset();

        Assert.Equal(0, histogram.Count);
        Assert.Equal(0, histogram.Min);
        Assert.Equal(0, histogram.Max);
        Assert.Equal(0, histogram.ValueAtPercentile(99));
        Assert.Throws<ArgumentOutOfRangeException>(() => histogram.Record(-1));
        histogram.Record(5);
        Assert.Equal(5, histogram.Min);
    }
}
