using System.Globalization;
using System.Text.RegularExpressions;

namespace FlashDeal.Load;

public enum ThresholdMetric
{
    P50,
    P90,
    P95,
    P99,
    P999,
    Max,
    Avg,
    Rate,
    Errors,
    Dropped,
}

/// <summary>
/// A pass/fail rule on the result, k6-style: <c>[operation][@stage:]metric comparator value[unit]</c>, e.g.
/// <c>p99&lt;10ms</c>, <c>place_order:p95&lt;=250us</c>, <c>place_order@spike:p99&lt;50ms</c>, <c>@sustain:rate&gt;=400</c>,
/// <c>errors&lt;0.5%</c>, <c>login:errors==0</c>, <c>dropped==0</c>. Latency metrics take us, ms (the default) or s; errors and
/// dropped a count or a percentage; rate is calls per second. Without a stage the whole run counts.
/// </summary>
public sealed partial record Threshold(string Expression, string? Operation, ThresholdMetric Metric, string Comparator,
    double Value, bool Percent, string? Stage = null)
{
    public bool IsLatency => Metric <= ThresholdMetric.Avg;

    /// <summary>Parses one threshold; throws <see cref="ArgumentException"/> naming it and what is wrong.</summary>
    public static Threshold Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var match = Pattern().Match(expression.Trim());
        if (!match.Success)
        {
            throw new ArgumentException(
                $"Threshold '{expression}' is not [operation][@stage:]metric comparator value[unit] " +
                "(metric p50|p90|p95|p99|p999|max|avg|rate|errors|dropped, comparator < <= > >= ==), e.g. 'p99<10ms'.",
                nameof(expression));
        }
        var operation = match.Groups["operation"].Value is { Length: > 0 } o ? o : null;
        var stage = match.Groups["stage"].Value is { Length: > 0 } s ? s : null;
        if (match.Groups["scope"].Success && operation is null && stage is null)
        {
            throw Bad(expression, "an empty scope before ':'; write operation:, operation@stage: or @stage:");
        }
        var metricText = match.Groups["metric"].Value.ToLowerInvariant();
        var metric = Enum.Parse<ThresholdMetric>(metricText, ignoreCase: true);
        var value = double.Parse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        var unit = match.Groups["unit"].Value.ToLowerInvariant();
        var percent = false;
        switch (metric)
        {
            case <= ThresholdMetric.Avg:
                value *= unit switch
                {
                    "us" or "µs" => 1,
                    "" or "ms" => 1_000,
                    "s" => 1_000_000,
                    _ => throw Bad(expression, $"latency '{metricText}' takes us, ms or s, not '{unit}'"),
                };
                break;
            case ThresholdMetric.Rate:
                if (unit is not ("" or "/s"))
                {
                    throw Bad(expression, $"rate is per second and takes no unit but '/s', not '{unit}'");
                }
                break;
            case ThresholdMetric.Errors or ThresholdMetric.Dropped:
                if (unit is not ("" or "%"))
                {
                    throw Bad(expression, $"{metricText} is a count or a percentage, not '{unit}'");
                }
                percent = unit == "%";
                if (metric == ThresholdMetric.Dropped && operation is not null)
                {
                    throw Bad(expression, "dropped counts iterations, not calls of an operation: drop the operation");
                }
                break;
        }
        return new Threshold(expression.Trim(), operation, metric, match.Groups["comparator"].Value, value, percent, stage);
    }

    private static ArgumentException Bad(string expression, string why) =>
        new($"Threshold '{expression}': {why}.", nameof(expression));

    /// <summary>Evaluates the threshold over the whole run, or over one stage.</summary>
    public ThresholdResult Evaluate(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var stage = Stage is null ? null : result.Stages.FirstOrDefault(s => s.Name == Stage);
        if (Stage is not null && stage is null)
        {
            return new ThresholdResult(Expression, false, "-", $"stage '{Stage}' is not in the plan");
        }
        if (Metric == ThresholdMetric.Dropped)
        {
            var (started, droppedCount) = stage is null ? (result.IterationsStarted, result.Dropped) : (stage.IterationsStarted, stage.Dropped);
            var due = started + droppedCount;
            var dropped = Percent ? (due == 0 ? 0 : 100.0 * droppedCount / due) : droppedCount;
            return Judge(dropped, Percent ? Invariant($"{dropped:0.###}%") : Invariant($"{droppedCount}"));
        }
        var stats = Scope(result);
        if (stats.Count == 0)
        {
            var where = Stage is null ? "" : $" in stage '{Stage}'";
            return new ThresholdResult(Expression, false, "-",
                Operation is null ? $"no calls were recorded{where}" : $"operation '{Operation}' never ran{where}");
        }
        switch (Metric)
        {
            case ThresholdMetric.Rate:
                var seconds = Math.Max(stage is null ? result.Elapsed.TotalSeconds : stage.WallTime.TotalSeconds, 1e-6);
                var rate = stats.Count / seconds;
                return Judge(rate, Invariant($"{rate:0.#}/s"));
            case ThresholdMetric.Errors:
                var errors = Percent ? 100.0 * stats.Errors / stats.Count : stats.Errors;
                return Judge(errors, Percent ? Invariant($"{errors:0.###}% ({stats.Errors}/{stats.Count})") : Invariant($"{stats.Errors}"));
            default:
                var micros = Metric switch
                {
                    ThresholdMetric.P50 => stats.Latency.ValueAtPercentile(50),
                    ThresholdMetric.P90 => stats.Latency.ValueAtPercentile(90),
                    ThresholdMetric.P95 => stats.Latency.ValueAtPercentile(95),
                    ThresholdMetric.P99 => stats.Latency.ValueAtPercentile(99),
                    ThresholdMetric.P999 => stats.Latency.ValueAtPercentile(99.9),
                    ThresholdMetric.Max => stats.Latency.Max,
                    _ => stats.Latency.Mean,
                };
                return Judge(micros, micros switch
                {
                    < 1_000 => Invariant($"{micros:0.#}us"),
                    < 1_000_000 => Invariant($"{micros / 1_000:0.###}ms"),
                    _ => Invariant($"{micros / 1_000_000:0.###}s"),
                });
        }
    }

    private OperationStats Scope(RunResult result)
    {
        var parts = Stage is null
            ? Operation is null ? result.PerStage : result.PerStage.Where(s => s.Operation == Operation)
            : result.InStage(Stage).Where(s => Operation is null || s.Operation == Operation);
        var merged = new OperationStats(Operation ?? "*", Stage);
        foreach (var part in parts)
        {
            merged.Merge(part);
        }
        return merged;
    }

    private ThresholdResult Judge(double actual, string shown) =>
        new(Expression, Holds(actual, Comparator, Value), shown, null);

    /// <summary>Whether <paramref name="actual"/> stands in the relation a threshold's comparator names to its value.</summary>
    internal static bool Holds(double actual, string comparator, double value) => comparator switch
    {
        "<" => actual < value,
        "<=" => actual <= value,
        ">" => actual > value,
        ">=" => actual >= value,
        _ => actual == value,
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(
        @"^(?<scope>(?<operation>[A-Za-z0-9_.\-/]*)(?:@(?<stage>[^:@,\s<>=]+))?\s*:\s*)?(?<metric>p50|p90|p95|p99|p999|max|avg|rate|errors|dropped)\s*(?<comparator><=|>=|==|<|>)\s*(?<value>[0-9]+(?:\.[0-9]+)?)\s*(?<unit>us|µs|ms|s|%|/s)?$",
        RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}

/// <summary>The verdict on one threshold: the measured value as text, and why it failed when it could not be measured.</summary>
public sealed record ThresholdResult(string Expression, bool Passed, string Actual, string? Detail);
