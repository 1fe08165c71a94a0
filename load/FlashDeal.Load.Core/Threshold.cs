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
/// A pass/fail rule on the result, k6-style: <c>[operation:]metric comparator value[unit]</c>, e.g. <c>p99&lt;10ms</c>,
/// <c>place_order:p95&lt;=250us</c>, <c>errors&lt;0.5%</c>, <c>login:errors==0</c>, <c>rate&gt;=1000</c>, <c>dropped==0</c>.
/// Latency metrics take us, ms (the default) or s; errors and dropped a count or a percentage; rate is calls per second.
/// </summary>
public sealed partial record Threshold(string Expression, string? Operation, ThresholdMetric Metric, string Comparator,
    double Value, bool Percent)
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
                $"Threshold '{expression}' is not [operation:]metric comparator value[unit] " +
                "(metric p50|p90|p95|p99|p999|max|avg|rate|errors|dropped, comparator < <= > >= ==), e.g. 'p99<10ms'.",
                nameof(expression));
        }
        var operation = match.Groups["operation"].Success ? match.Groups["operation"].Value : null;
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
        return new Threshold(expression.Trim(), operation, metric, match.Groups["comparator"].Value, value, percent);
    }

    private static ArgumentException Bad(string expression, string why) =>
        new($"Threshold '{expression}': {why}.", nameof(expression));

    /// <summary>Evaluates the threshold over the whole run (all stages).</summary>
    public ThresholdResult Evaluate(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (Metric == ThresholdMetric.Dropped)
        {
            var due = result.IterationsStarted + result.Dropped;
            var dropped = Percent ? (due == 0 ? 0 : 100.0 * result.Dropped / due) : result.Dropped;
            return Judge(dropped, Percent ? Invariant($"{dropped:0.###}%") : Invariant($"{result.Dropped}"));
        }
        var stats = Operation is null ? result.AllOperations : result.Operation(Operation);
        if (stats is null || stats.Count == 0)
        {
            return new ThresholdResult(Expression, false, "-",
                Operation is null ? "no calls were recorded" : $"operation '{Operation}' never ran");
        }
        switch (Metric)
        {
            case ThresholdMetric.Rate:
                var seconds = Math.Max(result.Elapsed.TotalSeconds, 1e-6);
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

    private ThresholdResult Judge(double actual, string shown)
    {
        var passed = Comparator switch
        {
            "<" => actual < Value,
            "<=" => actual <= Value,
            ">" => actual > Value,
            ">=" => actual >= Value,
            _ => actual == Value,
        };
        return new ThresholdResult(Expression, passed, shown, null);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(
        @"^(?:(?<operation>[A-Za-z0-9_.\-/]+)\s*:\s*)?(?<metric>p50|p90|p95|p99|p999|max|avg|rate|errors|dropped)\s*(?<comparator><=|>=|==|<|>)\s*(?<value>[0-9]+(?:\.[0-9]+)?)\s*(?<unit>us|µs|ms|s|%|/s)?$",
        RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}

/// <summary>The verdict on one threshold: the measured value as text, and why it failed when it could not be measured.</summary>
public sealed record ThresholdResult(string Expression, bool Passed, string Actual, string? Detail);
