namespace FlashDeal.Load.Tests;

public class LoadOptionsTests
{
    [Fact]
    public void ParsesEverySharedOptionAndKeepsTheRestInOrder()
    {
        var options = LoadOptions.Parse(
        [
            "spike", "--mode", "closed", "--users", "500", "--stages", "warm-up:10s:50,spike:5s:2000:hold,sustain:2m:500,cool-down:500ms:0",
            "--threshold", "p99<10ms", "--threshold=place_order:errors<0.5%", "--out", "out/run1", "--max-in-flight", "64",
            "--max-iterations=5000", "--timeout", "1m30s", "--drain-timeout", "2s", "--quiet", "--transport", "rest",
        ]);

        Assert.Equal(LoadMode.ClosedLoop, options.Mode);
        Assert.Equal(
            [
                new StagePlan("warm-up", TimeSpan.FromSeconds(10), 50),
                new StagePlan("spike", TimeSpan.FromSeconds(5), 2000, Ramp: false),
                new StagePlan("sustain", TimeSpan.FromMinutes(2), 500),
                new StagePlan("cool-down", TimeSpan.FromMilliseconds(500), 0),
            ],
            options.Stages);
        Assert.Equal(["p99<10ms", "place_order:errors<0.5%"], options.Thresholds);
        Assert.Equal("out/run1", options.OutputDirectory);
        Assert.Equal(64, options.MaxInFlight);
        Assert.Equal(5000, options.MaxIterations);
        Assert.Equal(TimeSpan.FromSeconds(90), options.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(2), options.DrainTimeout);
        Assert.True(options.Quiet);
        Assert.Equal(["spike", "--users", "500", "--transport", "rest"], options.Remaining);
    }

    [Fact]
    public void DefaultsToArrivalRateWithWarmUpSpikeSustainCoolDown()
    {
        var options = LoadOptions.Parse(["--quiet"]);
        var stages = options.ToPlan("x").Stages;

        Assert.Empty(options.Stages); // left for the scenario's own defaults
        Assert.Equal(LoadMode.ArrivalRate, options.Mode);
        Assert.Equal(["warm-up", "spike", "sustain", "cool-down"], stages.Select(s => s.Name));
        Assert.False(stages[1].Ramp);
        Assert.Equal(0, stages[^1].Target);
        Assert.True(options.Quiet);
        Assert.Null(options.OutputDirectory);
        Assert.Empty(options.Remaining);
    }

    [Fact]
    public void ClosedLoopDefaultsCountVirtualUsers()
    {
        var stages = LoadOptions.Parse(["--mode", "closed"]).ToPlan("x").Stages;

        Assert.Equal(LoadOptions.DefaultStages(LoadMode.ClosedLoop), stages);
        Assert.True(stages.Max(s => s.Target) < LoadOptions.DefaultStages(LoadMode.ArrivalRate).Max(s => s.Target));
    }

    [Fact]
    public void ToPlanCarriesTheBounds()
    {
        var options = LoadOptions.Parse(["--stages", "a:1s:10", "--max-in-flight", "7", "--max-iterations", "9", "--timeout", "3s"]);

        var plan = options.ToPlan("browse");

        Assert.Equal(new LoadPlan("browse", LoadMode.ArrivalRate, plan.Stages, 7, 9, TimeSpan.FromSeconds(3)), plan);
        Assert.Equal([new StagePlan("a", TimeSpan.FromSeconds(1), 10)], plan.Stages);
    }

    [Theory]
    [InlineData("--mode", "open", "'open'")]
    [InlineData("--stages", "warm-up:10:50", "'10'")]
    [InlineData("--stages", "warm-up:10s", "'warm-up:10s'")]
    [InlineData("--stages", "warm-up:10s:fast", "'fast'")]
    [InlineData("--stages", "warm-up:10s:-5", "'-5'")]
    [InlineData("--stages", "spike:5s:100:hodl", "'hodl'")]
    [InlineData("--stages", "a:1s:1,a:1s:2", "'a'")]
    [InlineData("--stages", "a:0s:1", "'0s'")]
    [InlineData("--threshold", "p99<<10ms", "'p99<<10ms'")]
    [InlineData("--threshold", "p98<10ms", "'p98<10ms'")]
    [InlineData("--threshold", "p99<10%", "'%'")]
    [InlineData("--max-in-flight", "0", "'0'")]
    [InlineData("--max-in-flight", "many", "'many'")]
    [InlineData("--max-iterations", "-1", "'-1'")]
    [InlineData("--timeout", "10", "'10'")]
    [InlineData("--timeout", "0s", "'0s'")]
    [InlineData("--timeout", "1000h", "'1000h'")]
    [InlineData("--stages", "a:200h:1", "'200h'")]
    public void BadValuesNameTheOptionAndTheValue(string option, string value, string named)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => LoadOptions.Parse([option, value]));

        Assert.Contains(option, error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Equal(option, error.ParamName);
    }

    [Fact]
    public void TheUsageTextListsExactlyTheParsedOptions()
    {
        var listed = System.Text.RegularExpressions.Regex.Matches(LoadOptions.Usage, @"^\s+(--[a-z-]+)", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(["--mode", "--stages", "--threshold", "--out", "--max-in-flight", "--max-iterations", "--timeout", "--drain-timeout", "--quiet",
            "--vus", "--duration", "--rate", "--iterations", "--shared-iterations", "--sequential", "--think-time", "--window", "--break"],
            listed);
        Assert.All(listed, option => Assert.DoesNotContain(option,
            LoadOptions.Parse(option switch
            {
                "--quiet" => [option],
                "--sequential" => [option, "--iterations", "2"],
                "--vus" or "--rate" => [option, "3", "--duration", "1s"],
                _ => [option, option switch
                {
                    "--mode" => "closed",
                    "--stages" => "a:1s:1",
                    "--threshold" => "p99<1s",
                    "--out" => "dir",
                    "--timeout" or "--drain-timeout" or "--duration" or "--think-time" or "--window" => "1s",
                    "--break" => "errors>1%",
                    _ => "3",
                }],
            }).Remaining));
    }

    [Fact]
    public void DrainIsAnAliasOfDrainTimeout() =>
        Assert.Equal(TimeSpan.FromSeconds(7), LoadOptions.Parse(["--drain", "7s"]).DrainTimeout);

    [Fact]
    public void AMissingValueNamesTheOption()
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => LoadOptions.Parse(["--quiet", "--timeout"]));

        Assert.Contains("--timeout needs a value", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("500ms", 500_000)]
    [InlineData("10s", 10_000_000)]
    [InlineData("2m", 120_000_000)]
    [InlineData("1h", 3_600_000_000)]
    [InlineData("250us", 250)]
    [InlineData("1.5s", 1_500_000)]
    [InlineData("1m30s", 90_000_000)]
    public void ParsesDurations(string text, long micros)
    {
        Assert.True(DurationText.TryParse(text, out var duration));
        Assert.Equal(micros, (long)duration.TotalMicroseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("s")]
    [InlineData("10 s")]
    [InlineData("-1s")]
    [InlineData("1d")]
    public void RefusesDurationsWithoutAUnitOrOutOfForm(string text) => Assert.False(DurationText.TryParse(text, out _));

    [Theory]
    [InlineData(250, "250us")]
    [InlineData(1_500, "1.5ms")]
    [InlineData(10_000_000, "10s")]
    [InlineData(90_000_000, "1m30s")]
    public void FormatsDurationsSoTheyParseBack(long micros, string text)
    {
        var duration = TimeSpan.FromMicroseconds(micros);
        Assert.Equal(text, DurationText.Format(duration));
        Assert.True(DurationText.TryParse(text, out var back));
        Assert.Equal(duration, back);
    }
}
