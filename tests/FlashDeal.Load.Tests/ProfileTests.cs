using System.Collections.Concurrent;

namespace FlashDeal.Load.Tests;

// Fixed iteration counts, think time, break conditions (stress) and soak windows. Only counts are asserted: how many
// iterations ran, per user and in all, how many pauses were taken, which stage broke; never how long anything took.
public class ProfileTests
{
    private static LoadOptions Quiet() => new() { Quiet = true, Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task SharedIterationsRunExactlyNInAllAcrossTheUsers()
    {
        var options = LoadOptions.Parse(["--shared-iterations", "100", "--vus", "7", "--quiet", "--timeout", "30s"]);
        var perUser = new ConcurrentDictionary<int, int>();
        var running = 0;
        var peak = 0;

        var result = await LoadRunner.RunAsync(options.ToPlan("shared"), async (context, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            perUser.AddOrUpdate(context.VirtualUser, 1, (_, n) => n + 1);
            await Task.Yield();
            context.Recorder.Record("claim", TimeSpan.FromMilliseconds(1), "OK");
            Interlocked.Decrement(ref running);
        }, options, CancellationToken.None);

        Assert.Equal(100, result.IterationsStarted);
        Assert.Equal(100, result.IterationsCompleted);
        Assert.Equal(100, result.Operation("claim")!.Count);
        Assert.Equal(100, perUser.Values.Sum());
        Assert.All(perUser.Keys, user => Assert.InRange(user, 0, 6));
        Assert.InRange(peak, 1, 7);
        Assert.Equal(StopReason.Completed, result.StoppedBy);
        Assert.Equal("shared-iterations", result.Executor);
        Assert.Equal("shared-iterations", Assert.Single(result.Stages).Name);
    }

    [Fact]
    public async Task PerUserIterationsRunExactlyNForEveryUser()
    {
        var options = LoadOptions.Parse(["--iterations", "4", "--vus", "5", "--quiet"]);
        var perUser = new ConcurrentDictionary<int, int>();

        var result = await LoadRunner.RunAsync(options.ToPlan("per-user"), (context, _) =>
        {
            perUser.AddOrUpdate(context.VirtualUser, 1, (_, n) => n + 1);
            return ValueTask.CompletedTask;
        }, options, CancellationToken.None);

        Assert.Equal(20, result.IterationsStarted);
        Assert.Equal(Enumerable.Range(0, 5), perUser.Keys.Order());
        Assert.All(perUser.Values, count => Assert.Equal(4, count));
        Assert.Equal("per-vu-iterations", result.Executor);
        Assert.Equal(StopReason.Completed, result.StoppedBy);
    }

    [Fact]
    public async Task SequentialIsOneUserBackToBack()
    {
        var options = LoadOptions.Parse(["--sequential", "--iterations", "12", "--quiet"]);
        var running = 0;
        var peak = 0;

        var result = await LoadRunner.RunAsync(options.ToPlan("sequential"), async (context, _) =>
        {
            InterlockedMax(ref peak, Interlocked.Increment(ref running));
            await Task.Yield();
            Assert.Equal(0, context.VirtualUser);
            Interlocked.Decrement(ref running);
        }, options, CancellationToken.None);

        Assert.Equal(12, result.IterationsStarted);
        Assert.Equal(1, peak);
        Assert.Equal("sequential", Assert.Single(result.Stages).Name);
    }

    [Fact]
    public async Task ThinkTimeComesBetweenAUsersIterations()
    {
        // 3 users × 4 iterations: 3 pauses each, none before the first or after the last.
        var options = LoadOptions.Parse(["--iterations", "4", "--vus", "3", "--think-time", "1ms-3ms", "--quiet"]);
        var result = await LoadRunner.RunAsync(options.ToPlan("think"), (_, _) => ValueTask.CompletedTask, options,
            CancellationToken.None);

        Assert.Equal(12, result.IterationsStarted);
        Assert.Equal(9, result.ThinkPauses);
        Assert.InRange(result.ThinkTime, TimeSpan.FromMilliseconds(9), TimeSpan.FromMilliseconds(27));

        // Shared: every iteration but each user's first follows a pause.
        var shared = LoadOptions.Parse(["--shared-iterations", "10", "--vus", "3", "--think-time", "1ms", "--quiet"]);
        var users = new ConcurrentDictionary<int, byte>();
        var sharedResult = await LoadRunner.RunAsync(shared.ToPlan("think"), (context, _) =>
        {
            users.TryAdd(context.VirtualUser, 0);
            return ValueTask.CompletedTask;
        }, shared, CancellationToken.None);
        Assert.Equal(10, sharedResult.IterationsStarted);
        Assert.Equal(10 - users.Count, sharedResult.ThinkPauses);
        Assert.Equal(TimeSpan.FromMilliseconds(sharedResult.ThinkPauses), sharedResult.ThinkTime);
    }

    [Fact]
    public async Task ThinkTimeAppliesToTheClosedLoopAndWithoutItNoPauses()
    {
        var options = LoadOptions.Parse(["--mode", "closed", "--stages", "hold:1s:2:hold", "--think-time", "100ms", "--quiet"]);
        var result = await LoadRunner.RunAsync(options.ToPlan("closed"), (_, _) => ValueTask.CompletedTask, options,
            CancellationToken.None);
        // Two users, each pausing after every iteration but its first: at most started − 2 pauses, and some were taken.
        Assert.InRange(result.ThinkPauses, 1, result.IterationsStarted);
        Assert.InRange(result.IterationsStarted, 2, 40);

        var plain = LoadOptions.Parse(["--iterations", "3", "--vus", "2", "--quiet"]);
        var none = await LoadRunner.RunAsync(plain.ToPlan("plain"), (_, _) => ValueTask.CompletedTask, plain, CancellationToken.None);
        Assert.Equal(0, none.ThinkPauses);
    }

    [Fact]
    public void RampingUsersZeroToTwentyToFiftyToZeroIsAClosedPlan()
    {
        var options = LoadOptions.Parse(["--mode", "closed", "--stages", "ramp-20:10s:20,ramp-50:20s:50,ramp-down:10s:0", "--think-time", "500ms-2s"]);
        var schedule = new StageSchedule(options.ToPlan("ramp").Stages);
        Assert.Equal(0, schedule.TargetAt(0));
        Assert.Equal(10, schedule.TargetAt(5), 6);
        Assert.Equal(20, schedule.TargetAt(10), 6);
        Assert.Equal(35, schedule.TargetAt(20), 6);
        Assert.Equal(50, schedule.TargetAt(30), 6);
        Assert.Equal(0, schedule.TargetAt(40), 6);
        Assert.Equal(new ThinkTime(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2)), options.ThinkTime);
    }

    [Theory]
    [InlineData("--think-time", "--think-time", "2s-1s")]
    [InlineData("--think-time", "--think-time", "soon")]
    [InlineData("--vus", "--vus", "0")]
    [InlineData("--iterations", "--iterations", "-1")]
    [InlineData("--window", "--window", "1500ms")]
    [InlineData("--rate", "--rate", "fast")]
    [InlineData("--break", "--break", "@spike:p95>1s")]
    [InlineData("--break", "--break", "p95 over 1s")]
    [InlineData("--threshold", "--threshold", "drift:p95<50%")]
    [InlineData("--threshold", "--threshold", "drift:latency<2x")]
    public void BadValuesNameTheirOption(string option, string name, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => LoadOptions.Parse([name, value]));
        Assert.Equal(option, e.ParamName);
    }

    [Theory]
    [InlineData("--shared-iterations", "--iterations", "5", "--shared-iterations", "5")]
    [InlineData("--iterations", "--iterations", "5", "--stages", "a:1s:5")]
    [InlineData("--vus", "--vus", "5")]
    [InlineData("--rate", "--rate", "50")]
    [InlineData("--rate", "--rate", "50", "--vus", "5", "--duration", "10s")]
    [InlineData("--think-time", "--rate", "50", "--duration", "10s", "--think-time", "1s")]
    [InlineData("--think-time", "--mode", "arrival", "--think-time", "1s")]
    [InlineData("--sequential", "--sequential")]
    [InlineData("--sequential", "--sequential", "--vus", "3", "--iterations", "2")]
    [InlineData("--mode", "--mode", "arrival", "--iterations", "2")]
    public void OptionsThatDoNotGoTogetherAreRefusedNamingOne(string option, params string[] args)
    {
        var e = Assert.Throws<ArgumentException>(() => LoadOptions.Parse(args));
        Assert.Equal(option, e.ParamName);
    }

    [Fact]
    public void DurationWithUsersOrRateIsOneSteadyStage()
    {
        var users = LoadOptions.Parse(["--vus", "8", "--duration", "2m"]).ToPlan("x");
        Assert.Equal(LoadMode.ClosedLoop, users.Mode);
        Assert.Equal(new StagePlan("steady", TimeSpan.FromMinutes(2), 8, Ramp: false), Assert.Single(users.Stages));
        var rate = LoadOptions.Parse(["--rate", "250/s", "--duration", "30s", "--window", "10s", "--break", "errors>1%,p95>500ms"]).ToPlan("x");
        Assert.Equal(LoadMode.ArrivalRate, rate.Mode);
        Assert.Equal(new StagePlan("steady", TimeSpan.FromSeconds(30), 250, Ramp: false), Assert.Single(rate.Stages));
        Assert.Equal(TimeSpan.FromSeconds(10), rate.Window);
        Assert.Equal(["errors>1%", "p95>500ms"], rate.BreakWhen);
    }

    // ---- stress ----

    [Fact]
    public void TheKneeIsTheLastStepThatHeldAndTheFirstThatBroke()
    {
        string[] conditions = ["errors>1%", "p95>500ms"];
        var result = Steps(
            ("step-1", 50, 10, 0),      // 10 ms, no errors
            ("step-2", 100, 80, 0),     // 80 ms
            ("step-3", 150, 700, 0),    // p95 700 ms: broke on latency
            ("step-4", 200, 900, 10));  // broke on both

        var report = StressAnalysis.Analyse(result, conditions);

        Assert.Equal(["step-1", "step-2", "step-3", "step-4"], report.Steps.Select(s => s.Stage));
        Assert.Equal([false, false, true, true], report.Steps.Select(s => s.Broke));
        Assert.Equal("step-2", report.LastHeld!.Stage);
        Assert.Equal(100, report.LastHeld.Target);
        Assert.Equal("step-3", report.FirstBroke!.Stage);
        Assert.Contains("p95>500ms", report.FirstBroke.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("errors>1%", report.FirstBroke.Detail, StringComparison.Ordinal);
        Assert.Contains("errors>1%", report.Steps[3].Detail, StringComparison.Ordinal);
        Assert.Equal(Math.Round(100.0 * 10 / 105, 3), report.Steps[3].ErrorPercent); // 5 expected refusals are calls, not errors
        Assert.Contains("knee: last held step-2", StressAnalysis.Describe(report, "/s"), StringComparison.Ordinal);
    }

    [Fact]
    public void NoBreakMeansTheLastStepHeldAndAFirstBreakHasNoKneeBeforeIt()
    {
        var held = StressAnalysis.Analyse(Steps(("step-1", 50, 10, 0), ("step-2", 100, 20, 0)), ["p95>500ms"]);
        Assert.Null(held.FirstBroke);
        Assert.Equal("step-2", held.LastHeld!.Stage);

        var first = StressAnalysis.Analyse(Steps(("step-1", 50, 10, 50)), ["errors>1%"]);
        Assert.Null(first.LastHeld);
        Assert.Equal("step-1", first.FirstBroke!.Stage);
    }

    [Fact]
    public void AStepWithoutCompletedCallsBroke()
    {
        var result = Steps(("step-1", 50, 10, 0));
        result = result.WithStagesInFront([], []);
        var withEmpty = new RunResult
        {
            Name = "stress",
            Stages = [.. result.Stages, new StageResult("step-2", 50, 100, false, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), 200, 0)],
            PerStage = result.PerStage,
        };
        var report = StressAnalysis.Analyse(withEmpty, ["p95>500ms"]);
        Assert.Equal("step-2", report.FirstBroke!.Stage);
        Assert.Contains("no calls", report.FirstBroke.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheEngineStopsAfterTheFirstStageThatBreaks()
    {
        var options = LoadOptions.Parse(["--stages", "step-1:1s:40:hold,step-2:1s:60:hold,step-3:1s:80:hold", "--break", "errors>5%", "--quiet"]);
        var result = await LoadRunner.RunAsync(options.ToPlan("stress"), (context, _) =>
        {
            context.Recorder.Record("call", TimeSpan.FromMilliseconds(1), context.Stage == "step-2" ? "UNAVAILABLE" : "OK");
            return ValueTask.CompletedTask;
        }, options, CancellationToken.None);

        Assert.Equal(StopReason.Break, result.StoppedBy);
        Assert.Equal(0, result.Stages.Single(s => s.Name == "step-3").IterationsStarted);
        Assert.Equal(["step-1", "step-2"], result.LiveBreaks.Select(s => s.Stage));
        Assert.Equal([false, true], result.LiveBreaks.Select(s => s.Broke));
        var report = LoadReport.Build(result, [], [], new Dictionary<string, string>());
        Assert.Equal(["step-1", "step-2"], report.Stress!.Steps.Select(s => s.Stage)); // step-3 was never reached
        Assert.Equal("step-1", report.Stress.LastHeld!.Stage);
        Assert.Equal("step-2", report.Stress.FirstBroke!.Stage);
        Assert.Contains("Stress steps", ConsoleReport.Render(report), StringComparison.Ordinal);
    }

    private static RunResult Steps(params (string Name, double Target, int LatencyMs, int ErrorPercent)[] steps)
    {
        var stages = new List<StageResult>();
        var perStage = new List<OperationStats>();
        var offset = TimeSpan.Zero;
        foreach (var (name, target, latency, errors) in steps)
        {
            stages.Add(new StageResult(name, target, target, false, TimeSpan.FromSeconds(10), offset, TimeSpan.FromSeconds(10), 1000, 0));
            offset += TimeSpan.FromSeconds(10);
            var stats = new OperationStats("claim_coupon", name);
            stats.Add(TimeSpan.FromMilliseconds(latency), "OK", count: 100 - errors);
            if (errors > 0)
            {
                stats.Add(TimeSpan.FromMilliseconds(latency), "UNAVAILABLE", count: errors);
            }
            stats.Add(TimeSpan.FromMilliseconds(1), "COUPONS_EXHAUSTED", expected: true, count: 5);
            perStage.Add(stats);
        }
        return new RunResult { Name = "stress", Stages = stages, PerStage = perStage };
    }

    // ---- soak ----

    private static SoakWindow Window(int index, double p95, double rate, long errors, long calls, long catalogMiB, bool complete = true) =>
        new(index, index * 30, index * 30 + 30, calls, errors, rate, p95 / 2, p95, p95 * 1.5, p95 * 2,
            new Dictionary<string, long> { ["catalog"] = catalogMiB << 20, ["orders-1"] = 100L << 20 }, complete);

    [Fact]
    public void DriftComparesTheLastCompleteWindowWithTheFirst()
    {
        var windows = new[]
        {
            Window(0, 20, 100, 0, 3000, 100),
            Window(1, 25, 100, 0, 3000, 120),
            Window(2, 36, 90, 30, 2700, 160),
            Window(3, 500, 10, 0, 50, 400, complete: false),   // partial: ignored
        };

        var drift = SoakDrift.Compute(windows);

        Assert.Null(drift.Problem);
        Assert.Equal((0, 2), (drift.FirstWindow, drift.LastWindow));
        Assert.Equal(1.8, drift.P95Ratio, 3);
        Assert.Equal(0.9, drift.RateRatio, 3);
        Assert.Equal(0, drift.FirstErrorPercent);
        Assert.Equal(1.111, drift.LastErrorPercent, 3);
        Assert.Equal("catalog", drift.WorstMemory!.Process);
        Assert.Equal(60, drift.WorstMemory.GrowthPercent);
        Assert.Equal(0, drift.Memory.Single(m => m.Process == "orders-1").GrowthPercent);

        Assert.False(DriftThreshold.Parse("drift:p95<1.5x").Evaluate(drift).Passed);
        Assert.True(DriftThreshold.Parse("drift:p95<2x").Evaluate(drift).Passed);
        Assert.False(DriftThreshold.Parse("drift:memory<50%").Evaluate(drift).Passed);
        Assert.True(DriftThreshold.Parse("drift:memory<75%").Evaluate(drift).Passed);
        Assert.True(DriftThreshold.Parse("drift:rate>=0.9x").Evaluate(drift).Passed);
        Assert.False(DriftThreshold.Parse("drift:errors<1%").Evaluate(drift).Passed);
        Assert.Contains("catalog", DriftThreshold.Parse("drift:memory<50%").Evaluate(drift).Actual, StringComparison.Ordinal);
    }

    [Fact]
    public void DriftNeedsTwoCompleteWindowsAndAThresholdWithoutThemFails()
    {
        var drift = SoakDrift.Compute([Window(0, 20, 100, 0, 3000, 100), Window(1, 20, 100, 0, 10, 100, complete: false)]);
        Assert.NotNull(drift.Problem);
        var verdict = DriftThreshold.Parse("drift:p95<1.5x").Evaluate(drift);
        Assert.False(verdict.Passed);
        Assert.Contains("2 complete windows", verdict.Detail, StringComparison.Ordinal);
        Assert.False(DriftThreshold.Parse("drift:p95<1.5x").Evaluate(null).Passed);
    }

    [Fact]
    public async Task TheEngineCutsWindowsAndReadsMemoryWhenEachCloses()
    {
        var probes = 0;
        var options = LoadOptions.Parse(["--rate", "50", "--duration", "3s", "--window", "1s", "--quiet", "--threshold", "drift:memory<50%"]);
        options.MemoryProbe = () =>
        {
            var n = Interlocked.Increment(ref probes);
            return new Dictionary<string, long> { ["catalog"] = (100L + 100 * (n - 1)) << 20 }; // doubles by the second window
        };

        var result = await LoadRunner.RunAsync(options.ToPlan("soak"), (context, _) =>
        {
            context.Recorder.Record("browse", TimeSpan.FromMilliseconds(2), "OK");
            return ValueTask.CompletedTask;
        }, options, CancellationToken.None);

        Assert.Equal(1, result.WindowSeconds);
        Assert.InRange(result.Windows.Count(w => w.Complete), 2, 4);
        Assert.Equal(probes, result.Windows.Count);
        Assert.Equal(result.Operation("browse")!.Count, result.Windows.Sum(w => w.Calls));
        var report = LoadReport.Build(result, [], options.Thresholds, new Dictionary<string, string>());
        Assert.NotNull(report.Soak);
        var memory = Assert.Single(report.Thresholds);
        Assert.False(memory.Passed); // grew by 100 % or more between the first and the last complete window
        Assert.Contains("Soak windows", ConsoleReport.Render(report), StringComparison.Ordinal);
        Assert.False(report.Passed);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
