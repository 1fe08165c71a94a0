using System.Globalization;

namespace FlashDeal.Load;

/// <summary>One step of a stress run as judged against the break conditions: its target, its numbers, whether it broke
/// and which conditions held.</summary>
public sealed record StressStep(
    string Stage,
    double Target,
    long Calls,
    long Errors,
    double ErrorPercent,
    double RatePerSecond,
    double P95Ms,
    double P99Ms,
    bool Broke,
    string Detail);

/// <summary>The knee of a stress run: the last step that held and the first that broke (null when none did).</summary>
public sealed record StressReport(IReadOnlyList<string> BreakWhen, IReadOnlyList<StressStep> Steps, StressStep? LastHeld,
    StressStep? FirstBroke);

/// <summary>Judges stages against break conditions (threshold expressions without a stage, e.g. "errors&gt;1%",
/// "p95&gt;500ms", "place_order:p99&gt;1s"): a stage broke when any of them holds, or when it completed no call at all.</summary>
public static class StressAnalysis
{
    public static StressStep Judge(RunResult result, string stage, IReadOnlyList<string> conditions)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(conditions);
        var plan = result.Stages.First(s => s.Name == stage);
        var all = new OperationStats("*", stage);
        foreach (var part in result.InStage(stage))
        {
            all.Merge(part);
        }
        var seconds = Math.Max(plan.WallTime.TotalSeconds, 1e-6);
        var held = new List<string>();
        var broke = false;
        foreach (var condition in conditions)
        {
            var verdict = (Threshold.Parse(condition) with { Stage = stage }).Evaluate(result);
            if (verdict.Actual == "-")
            {
                broke = true;
                held.Add($"{condition}: {verdict.Detail}");
            }
            else if (verdict.Passed)
            {
                broke = true;
                held.Add($"{condition} ({verdict.Actual})");
            }
        }
        return new StressStep(stage, plan.Target, all.Count, all.Errors,
            all.Count == 0 ? 0 : Math.Round(100.0 * all.Errors / all.Count, 3), Math.Round(all.Count / seconds, 1),
            Math.Round(all.Latency.ValueAtPercentile(95) / 1_000.0, 3), Math.Round(all.Latency.ValueAtPercentile(99) / 1_000.0, 3),
            broke, broke ? "broke: " + string.Join("; ", held) : "held");
    }

    /// <summary>Judges every stage that started iterations (in plan order; stages without planned time, like the load
    /// tool's log-in, and the steps never reached after a break are left out) on the final numbers and finds the knee.</summary>
    public static StressReport Analyse(RunResult result, IReadOnlyList<string> conditions)
    {
        ArgumentNullException.ThrowIfNull(result);
        var steps = result.Stages
            .Where(s => s.PlannedDuration > TimeSpan.Zero && (s.IterationsStarted > 0 || s.Dropped > 0))
            .Select(s => Judge(result, s.Name, conditions))
            .ToList();
        return Knee(conditions, steps);
    }

    /// <summary>The knee of judged steps: the first that broke, and the one before it (or the last one when none broke).</summary>
    public static StressReport Knee(IReadOnlyList<string> conditions, IReadOnlyList<StressStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var first = steps.Select((s, i) => (s, i)).FirstOrDefault(p => p.s.Broke);
        if (first.s is null)
        {
            return new StressReport(conditions, steps, steps.Count > 0 ? steps[^1] : null, null);
        }
        return new StressReport(conditions, steps, first.i > 0 ? steps[first.i - 1] : null, first.s);
    }

    public static string Describe(StressReport report, string unit)
    {
        ArgumentNullException.ThrowIfNull(report);
        string Step(StressStep s) => string.Create(CultureInfo.InvariantCulture,
            $"{s.Stage} at {s.Target:0.#}{unit} ({s.RatePerSecond:0.#} calls/s, p95 {LoadReport.FormatMicros(s.P95Ms * 1000)}, errors {s.ErrorPercent:0.##}%)");
        return report.FirstBroke is null
            ? $"no step broke; the last, {(report.LastHeld is null ? "none" : Step(report.LastHeld))}, held"
            : $"knee: last held {(report.LastHeld is null ? "none (the first step broke)" : Step(report.LastHeld))}; first broke {Step(report.FirstBroke)}";
    }
}
