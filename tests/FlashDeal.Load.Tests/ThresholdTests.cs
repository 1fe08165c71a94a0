namespace FlashDeal.Load.Tests;

public class ThresholdTests
{
    [Theory]
    [InlineData("p99<10ms", null, ThresholdMetric.P99, "<", 10_000, false)]
    [InlineData("place_order:p95<=250us", "place_order", ThresholdMetric.P95, "<=", 250, false)]
    [InlineData("p50 < 1.5s", null, ThresholdMetric.P50, "<", 1_500_000, false)]
    [InlineData("p90<7", null, ThresholdMetric.P90, "<", 7_000, false)]
    [InlineData("get_deal:p999<20ms", "get_deal", ThresholdMetric.P999, "<", 20_000, false)]
    [InlineData("max<=1s", null, ThresholdMetric.Max, "<=", 1_000_000, false)]
    [InlineData("login:avg<3ms", "login", ThresholdMetric.Avg, "<", 3_000, false)]
    [InlineData("rate>1000", null, ThresholdMetric.Rate, ">", 1000, false)]
    [InlineData("list_deals:rate>=50/s", "list_deals", ThresholdMetric.Rate, ">=", 50, false)]
    [InlineData("errors<0.5%", null, ThresholdMetric.Errors, "<", 0.5, true)]
    [InlineData("login:errors==0", "login", ThresholdMetric.Errors, "==", 0, false)]
    [InlineData("dropped==0", null, ThresholdMetric.Dropped, "==", 0, false)]
    [InlineData("dropped<1%", null, ThresholdMetric.Dropped, "<", 1, true)]
    [InlineData("P99<10MS", null, ThresholdMetric.P99, "<", 10_000, false)]
    public void ParsesEveryForm(string text, string? operation, ThresholdMetric metric, string comparator, double value,
        bool percent)
    {
        var threshold = Threshold.Parse(text);

        Assert.Equal((operation, metric, comparator, value, percent),
            (threshold.Operation, threshold.Metric, threshold.Comparator, threshold.Value, threshold.Percent));
    }

    [Theory]
    [InlineData("p99", "is not [operation][@stage:]metric")]
    [InlineData("p99<", "is not [operation][@stage:]metric")]
    [InlineData("p98<10ms", "is not [operation][@stage:]metric")]
    [InlineData("p99=10ms", "is not [operation][@stage:]metric")]
    [InlineData("p99<10m", "is not [operation][@stage:]metric")]
    [InlineData(":p99<10ms", "empty scope")]
    [InlineData("op@:p99<10ms", "is not [operation][@stage:]metric")]
    [InlineData("p99<10%", "takes us, ms or s")]
    [InlineData("rate>10ms", "takes no unit")]
    [InlineData("errors<5ms", "count or a percentage")]
    [InlineData("place_order:dropped==0", "drop the operation")]
    public void RefusesWhatItCannotReadAndNamesIt(string text, string why)
    {
        var error = Assert.Throws<ArgumentException>(() => Threshold.Parse(text));

        Assert.Contains($"'{text}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("p50<=1.1ms", true)]
    [InlineData("p50<1ms", false)] // 1 ms is reported as the top of its bucket, 1.003 ms: never below the truth
    [InlineData("p99<=10ms", false)]
    [InlineData("p99==50ms", true)] // clamped to the exact max
    [InlineData("max==50ms", true)]
    [InlineData("p999>=50ms", true)]
    [InlineData("place_order:p99<11ms", true)]
    [InlineData("place_order:p95>=10ms", true)]
    [InlineData("place_order:max==50ms", true)]
    [InlineData("get_order:p50>=50ms", true)]
    [InlineData("avg<12ms", true)]
    [InlineData("avg<10ms", false)]
    [InlineData("rate==10", true)]
    [InlineData("rate>10", false)]
    [InlineData("get_order:rate<2/s", true)]
    [InlineData("errors==3", true)]
    [InlineData("errors<3%", true)]
    [InlineData("errors<2%", false)]
    [InlineData("place_order:errors==0", true)]
    [InlineData("place_order:errors<0.1%", true)]
    [InlineData("get_order:errors>=15%", true)]
    [InlineData("get_order:errors<15%", false)]
    [InlineData("dropped==4", true)]
    [InlineData("dropped<=4%", true)]
    [InlineData("dropped<4%", false)]
    [InlineData("dropped==0", false)]
    public void EvaluatesOnTheWholeRun(string text, bool passes)
    {
        var verdict = Threshold.Parse(text).Evaluate(Synthetic.Result());

        Assert.True(passes == verdict.Passed, $"{text}: actual {verdict.Actual}");
        Assert.Null(verdict.Detail);
    }

    [Theory]
    [InlineData("place_order@spike:p99<=10.1ms", true)]
    [InlineData("place_order@spike:max<20ms", true)]
    [InlineData("place_order@sustain:max<20ms", false)]
    [InlineData("@spike:errors==0", true)]
    [InlineData("@sustain:errors==3", true)]
    [InlineData("@spike:rate==49.5", true)]
    [InlineData("@spike:dropped==4", true)]
    [InlineData("@sustain:dropped==0", true)]
    public void EvaluatesOnOneStage(string text, bool passes)
    {
        var threshold = Threshold.Parse(text);
        var verdict = threshold.Evaluate(Synthetic.Result());

        Assert.NotNull(threshold.Stage);
        Assert.True(passes == verdict.Passed, $"{text}: actual {verdict.Actual}");
    }

    [Theory]
    [InlineData("@nope:p99<1s", "stage 'nope' is not in the plan")]
    [InlineData("refresh@spike:p99<1s", "operation 'refresh' never ran in stage 'spike'")]
    [InlineData("get_order@spike:errors==0", "operation 'get_order' never ran in stage 'spike'")]
    public void AStageThresholdWithoutCallsThereFails(string text, string detail)
    {
        var verdict = Threshold.Parse(text).Evaluate(Synthetic.Result());

        Assert.False(verdict.Passed);
        Assert.Equal(detail, verdict.Detail);
    }

    [Fact]
    public void ParsesTheStageScope()
    {
        var threshold = Threshold.Parse("place_order@cool-down:p95<=250us");

        Assert.Equal(("place_order", "cool-down", ThresholdMetric.P95, 250.0),
            (threshold.Operation, threshold.Stage, threshold.Metric, threshold.Value));
        Assert.Equal((null, "spike"), (Threshold.Parse("@spike:rate>1").Operation, Threshold.Parse("@spike:rate>1").Stage));
    }

    [Fact]
    public void AThresholdOnAnOperationThatNeverRanFails()
    {
        var verdict = Threshold.Parse("pay_order:errors==0").Evaluate(Synthetic.Result());

        Assert.False(verdict.Passed);
        Assert.Equal("operation 'pay_order' never ran", verdict.Detail);
    }

    [Fact]
    public void ALatencyThresholdWithoutAnyCallFails()
    {
        var empty = new RunResult { Name = "empty" };

        Assert.False(Threshold.Parse("p99<1s").Evaluate(empty).Passed);
        Assert.True(Threshold.Parse("dropped==0").Evaluate(empty).Passed);
    }

    [Fact]
    public void ShowsTheMeasuredValueWithItsUnit()
    {
        var result = Synthetic.Result();

        Assert.Equal("1.003ms", Threshold.Parse("p50<1ms").Evaluate(result).Actual);
        Assert.Equal("50ms", Threshold.Parse("max<1ms").Evaluate(result).Actual);
        Assert.Equal("11ms", Threshold.Parse("avg<1ms").Evaluate(result).Actual);
        Assert.Equal("2.5% (3/120)", Threshold.Parse("errors<1%").Evaluate(result).Actual);
        Assert.Equal("10/s", Threshold.Parse("rate<1").Evaluate(result).Actual);
    }
}

/// <summary>A run built by hand, for thresholds and reports.</summary>
internal static class Synthetic
{
    /// <summary>12 s, two stages. place_order: 100 calls (80 OK at 1 ms, 19 expected SOLD_OUT at 10 ms, 1 OK at 50 ms), no
    /// errors; get_order: 20 calls (17 OK at 50 ms, 3 UNAVAILABLE at 50 ms). 96 started, 4 dropped.</summary>
    public static RunResult Result()
    {
        var placeSpike = new OperationStats("place_order", "spike");
        placeSpike.Add(TimeSpan.FromMilliseconds(1), "OK", count: 80);
        placeSpike.Add(TimeSpan.FromMilliseconds(10), "SOLD_OUT", expected: true, count: 19);
        var placeSustain = new OperationStats("place_order", "sustain");
        placeSustain.Add(TimeSpan.FromMilliseconds(50), "OK");
        var getSustain = new OperationStats("get_order", "sustain");
        getSustain.Add(TimeSpan.FromMilliseconds(50), "OK", count: 17);
        getSustain.Add(TimeSpan.FromMilliseconds(50), "UNAVAILABLE", count: 3);
        return new RunResult
        {
            Name = "spike",
            Mode = LoadMode.ArrivalRate,
            StartedAt = new DateTimeOffset(2026, 11, 21, 8, 0, 0, TimeSpan.Zero),
            Elapsed = TimeSpan.FromSeconds(12),
            ScheduledTime = TimeSpan.FromSeconds(12),
            MaxInFlight = 64,
            MaxIterations = 1000,
            Stages =
            [
                new StageResult("spike", 50, 50, false, TimeSpan.FromSeconds(2), TimeSpan.Zero, TimeSpan.FromSeconds(2), 96, 4),
                new StageResult("sustain", 50, 0, true, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), 0, 0),
            ],
            PerStage = [placeSpike, placeSustain, getSustain],
            TimeSeries =
            [
                new SecondSample(0, "spike", 50, 50, 0, 3, new SecondOperation("*", 50, 0, 1000, 10000, 10000, 10000),
                    [new SecondOperation("place_order", 50, 0, 1000, 10000, 10000, 10000)]),
                new SecondSample(1, "spike", 50, 46, 4, 1, new SecondOperation("*", 49, 0, 1000, 10000, 10000, 10000),
                    [new SecondOperation("place_order", 49, 0, 1000, 10000, 10000, 10000)]),
                new SecondSample(2, "sustain", 50, 0, 0, 0, new SecondOperation("*", 21, 3, 50000, 50000, 50000, 50000),
                    [new SecondOperation("get_order", 20, 3, 50000, 50000, 50000, 50000), new SecondOperation("place_order", 1, 0, 50000, 50000, 50000, 50000)]),
            ],
            IterationsStarted = 96,
            IterationsCompleted = 96,
            Dropped = 4,
            PeakInFlight = 12,
        };
    }
}
